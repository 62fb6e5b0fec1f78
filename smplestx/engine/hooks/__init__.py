"""Hooks of smplestx."""
