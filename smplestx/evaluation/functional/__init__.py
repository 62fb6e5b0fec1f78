"""Functional (tensor-level) evaluation helpers."""

from .mesh_errors import (
    SMPL_LSP14_IDS,
    SMPLX_PARTS,
    SMPLXEvalTensors,
    pa_point_error,
    point_error,
    regress,
    smpl_mesh_errors,
    smplx_mesh_errors,
)
from .procrustes import procrustes_residuals, similarity_procrustes, similarity_transform

__all__ = [
    'SMPLXEvalTensors', 'SMPLX_PARTS', 'SMPL_LSP14_IDS', 'pa_point_error', 'point_error',
    'procrustes_residuals', 'regress', 'similarity_procrustes', 'similarity_transform',
    'smpl_mesh_errors', 'smplx_mesh_errors'
]
