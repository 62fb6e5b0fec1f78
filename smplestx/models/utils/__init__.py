"""utils of smplestx."""
