"""MMEngine-style inferencers of smplestx."""

from smplestx.apis.inferencers.smplestx_inferencer import (
    DEFAULT_PIPELINE,
    FrameResult,
    SMPLestXInferencer,
    make_box_source,
)

__all__ = ['DEFAULT_PIPELINE', 'FrameResult', 'SMPLestXInferencer', 'make_box_source']
