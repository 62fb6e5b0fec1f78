"""data preprocessors of smplestx."""
