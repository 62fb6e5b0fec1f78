"""Evaluation: metrics and their functional building blocks."""

from . import functional, metrics  # noqa: F401
