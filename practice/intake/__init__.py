"""Intake: the questionnaires a client answers before a consultation, and how they are read."""
