"""SMPL-X / SMPL body models and their auxiliary files."""

from .assets import (
                     SMPLXAssets,
                     UnsafePickleError,
                     check_npz_safe,
                     load_pickle_safely,
                     load_smplx_assets,
                     make_hand_regressors,
)
from .smplx_body_model import SMPLBodyModel, SMPLXBodyModel, make_buffers_non_persistent

__all__ = [
    'SMPLXBodyModel', 'SMPLBodyModel', 'make_buffers_non_persistent', 'SMPLXAssets',
    'UnsafePickleError', 'check_npz_safe', 'load_pickle_safely', 'load_smplx_assets',
    'make_hand_regressors'
]
