"""Engine components: the runner with safe checkpoint loading, and hooks."""

from . import hooks  # noqa: F401
from .runner import SMPLestXRunner

__all__ = ['SMPLestXRunner']
