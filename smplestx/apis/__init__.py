"""User-facing Python APIs: model building, inference, person boxes, result export, demo."""

from smplestx.apis.demo import DemoSetup, build_inferencer, resolve_demo_setup, run_demo
from smplestx.apis.detection import (
                                     DetectorUnavailableError,
                                     GivenBoxes,
                                     PersonDetector,
                                     WholeImageBoxes,
                                     filter_person_boxes,
)
from smplestx.apis.exporters import ResultWriter, person_arrays
from smplestx.apis.frames import Frame, iter_frames
from smplestx.apis.inference import init_model, load_config, set_body_model_dir
from smplestx.apis.inferencers import FrameResult, SMPLestXInferencer, make_box_source
from smplestx.apis.smoothing import IoUTracker, OneEuroFilter, SMPLXSmoother

__all__ = [
    'DemoSetup', 'DetectorUnavailableError', 'Frame', 'FrameResult', 'GivenBoxes',
    'IoUTracker', 'OneEuroFilter', 'PersonDetector', 'ResultWriter', 'SMPLXSmoother',
    'SMPLestXInferencer', 'WholeImageBoxes',
    'build_inferencer', 'filter_person_boxes', 'init_model', 'iter_frames', 'load_config',
    'make_box_source', 'person_arrays', 'resolve_demo_setup', 'run_demo', 'set_body_model_dir'
]
