"""Engine components: the runner, training and inference loops, optimizer wrappers, hooks."""

from . import hooks  # noqa: F401
from .inference_loop import InferenceLoop
from .loops import ResumableEpochBasedTrainLoop
from .optim_wrappers import DeviceAmpOptimWrapper
from .runner import SMPLestXRunner

__all__ = [
    'DeviceAmpOptimWrapper', 'InferenceLoop', 'ResumableEpochBasedTrainLoop', 'SMPLestXRunner'
]
