"""Helpers for tests: synthetic inputs and fixture locations."""
