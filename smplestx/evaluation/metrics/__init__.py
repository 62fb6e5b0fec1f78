"""Metrics of smplestx."""

from .agora_submission import AGORASubmission
from .inference_writer import InferenceResultWriter
from .smpl_mesh_metric import SMPLMeshMetric
from .smplx_mesh_metric import SMPLXMeshMetric

__all__ = ['AGORASubmission', 'InferenceResultWriter', 'SMPLMeshMetric', 'SMPLXMeshMetric']
