"""Metrics of smplestx."""

from .smpl_mesh_metric import SMPLMeshMetric
from .smplx_mesh_metric import SMPLXMeshMetric

__all__ = ['SMPLMeshMetric', 'SMPLXMeshMetric']
