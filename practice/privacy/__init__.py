"""A client's right to erasure: their personal and clinical data removed, one audit line kept."""
