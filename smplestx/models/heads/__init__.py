"""heads of smplestx."""
