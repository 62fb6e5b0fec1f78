"""estimators of smplestx."""
