"""Couples worksheets: a library kept as data, assembled per couple, printed as PDF."""
