"""Estimators of smplestx."""

from .smplestx import SMPLestX

__all__ = ['SMPLestX']
