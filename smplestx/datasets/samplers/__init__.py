"""Data samplers of smplestx."""
