"""Optimizer wrappers of smplestx."""

from .amp_optim_wrapper import DeviceAmpOptimWrapper

__all__ = ['DeviceAmpOptimWrapper']
