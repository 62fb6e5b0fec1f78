"""Engine components: the runner, the resumable training loop, optimizer wrappers, hooks."""

from . import hooks  # noqa: F401
from .loops import ResumableEpochBasedTrainLoop
from .optim_wrappers import DeviceAmpOptimWrapper
from .runner import SMPLestXRunner

__all__ = ['DeviceAmpOptimWrapper', 'ResumableEpochBasedTrainLoop', 'SMPLestXRunner']
