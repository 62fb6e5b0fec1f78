"""Metrics of smplestx."""

from .agora_submission import AGORASubmission
from .smpl_mesh_metric import SMPLMeshMetric
from .smplx_mesh_metric import SMPLXMeshMetric

__all__ = ['AGORASubmission', 'SMPLMeshMetric', 'SMPLXMeshMetric']
