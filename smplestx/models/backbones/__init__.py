"""backbones of smplestx."""
