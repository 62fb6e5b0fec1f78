"""Data transforms of smplestx."""
