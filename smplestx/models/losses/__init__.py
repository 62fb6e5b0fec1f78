"""losses of smplestx."""
