"""User-facing Python APIs: model building, inference, person boxes, result export, demo."""

from smplestx.apis.demo import DemoSetup, build_inferencer, build_model, resolve_demo_setup
from smplestx.apis.demo_runner import DemoOptions, DemoSummary, run_demo
from smplestx.apis.detection import (
    DetectorUnavailableError,
    GivenBoxes,
    PersonDetector,
    WholeImageBoxes,
    ensure_detector_weights,
    filter_person_boxes,
    make_box_source,
)
from smplestx.apis.exporters import ResultWriter, person_arrays
from smplestx.apis.frame_predictor import FramePredictor, FrameResult
from smplestx.apis.inference import init_model, load_config, set_body_model_dir
from smplestx.apis.inferencers import SMPLestXInferencer
from smplestx.apis.smoothing import IoUTracker, OneEuroFilter, SMPLXSmoother
from smplestx.datasets.utils.media_io import Frame, iter_frames

__all__ = [
    'DemoOptions', 'DemoSetup', 'DemoSummary', 'DetectorUnavailableError', 'Frame',
    'FramePredictor', 'FrameResult', 'GivenBoxes', 'IoUTracker', 'OneEuroFilter',
    'PersonDetector', 'ResultWriter', 'SMPLXSmoother', 'SMPLestXInferencer', 'WholeImageBoxes',
    'build_inferencer', 'build_model', 'ensure_detector_weights', 'filter_person_boxes',
    'init_model', 'iter_frames', 'load_config', 'make_box_source', 'person_arrays',
    'resolve_demo_setup', 'run_demo', 'set_body_model_dir'
]
