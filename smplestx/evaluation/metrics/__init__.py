"""Metrics of smplestx."""
