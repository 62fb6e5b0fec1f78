"""Engine components: the runner with safe checkpoint loading, optimizer wrappers, hooks."""

from . import hooks  # noqa: F401
from .optim_wrappers import DeviceAmpOptimWrapper
from .runner import SMPLestXRunner

__all__ = ['DeviceAmpOptimWrapper', 'SMPLestXRunner']
