"""Hooks of smplestx."""

from .inference_progress_hook import InferenceProgressHook
from .rng_state_hook import RNGStateHook, get_rng_state, set_rng_state
from .visualization_hook import SMPLXVisualizationHook

__all__ = [
    'InferenceProgressHook', 'RNGStateHook', 'SMPLXVisualizationHook', 'get_rng_state',
    'set_rng_state'
]
