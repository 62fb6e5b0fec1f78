"""body models of smplestx."""
