"""MMEngine-style inferencer: images, folders and videos in, per-frame per-person SMPL-X out.

The per-frame work (person boxes, crops, batched ``predict``, tracking and smoothing) is
:class:`~smplestx.apis.frame_predictor.FramePredictor`, the same object the demo's Runner
loop runs; this class adds MMEngine's inferencer interface and overlays.
"""

from datetime import datetime
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Union

import numpy as np
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.infer import BaseInferencer
from mmengine.registry import init_default_scope
from torch import nn

from smplestx.apis.detection import make_box_source
from smplestx.apis.frame_predictor import (
    DEFAULT_PIPELINE,
    FramePredictor,
    FrameResult,
    build_inference_pipeline,
    make_smoother,
)
from smplestx.apis.inference import ConfigLike, init_model
from smplestx.apis.smoothing import SMPLXSmoother
from smplestx.datasets.utils.media_io import (
    Frame,
    InputType,
    VideoReader,
    input_kind,
    iter_frames,
)
from smplestx.registry import INFERENCERS
from smplestx.visualization import SMPLXVisualizer

BoxesSpec = Union[None, str, np.ndarray, Sequence, Dict[str, Any], Callable[[Frame], np.ndarray]]

__all__ = ['DEFAULT_PIPELINE', 'FrameResult', 'SMPLestXInferencer', 'make_box_source']


@INFERENCERS.register_module(name='smplestx')
@INFERENCERS.register_module()
class SMPLestXInferencer(BaseInferencer):
    """Whole-body SMPL-X estimation on images, folders and videos.

    Every frame is split into people by a box source (a detector, boxes given by the
    user, or the whole image); the people of consecutive frames are cropped and batched
    through the model together, and results come back per frame in input order.

    Example::

        inferencer = SMPLestXInferencer('configs/smplestx/smplestx_vit-h_16xb16-20e_h40-256x192.py',
                                        'smplest_x_h.pth.tar', device='cuda',
                                        boxes='whole_image')
        for result in inferencer.stream('demo/astronaut_pan.mp4', batch_size=8):
            print(result.frame.index, [p['transl'] for p in result.people])

    Args:
        model: Config file or object of the model.
        weights: Checkpoint; ``None`` keeps the (seeded) random initial weights.
        device: Torch device; the best available by default.
        scope: Registry scope.
        boxes: Default box source (see
            :func:`~smplestx.apis.detection.make_box_source`), e.g. a
            :class:`~smplestx.apis.detection.PersonDetector`.
        body_model_dir: SMPL-X folder for the model's body model.
        seed: Seed of the initial weights when ``weights`` is ``None``.
        score_thr: Minimum score of a person box.
        min_box_size: Minimum (width, height) of a person box in pixels.
        max_people: Keep at most this many people per frame.
        show_progress: Show a progress bar in :meth:`__call__`.
        precision: Inference precision (``'fp32'``, ``'bf16'``, ``'fp16'``, ``'int8'`` or
            ``'auto'``, see :mod:`smplestx.models.utils.precision`); ``None`` uses the
            config's ``precision`` key (fp32 when absent).
    """

    preprocess_kwargs: set = {'boxes'}
    forward_kwargs: set = set()
    visualize_kwargs: set = {'return_vis', 'show'}
    postprocess_kwargs: set = set()

    def __init__(self, model: ConfigLike, weights: Optional[str] = None,
                 device: Optional[str] = None, scope: Optional[str] = 'smplestx',
                 boxes: BoxesSpec = None, body_model_dir: Optional[str] = None,
                 seed: Optional[int] = 0, score_thr: float = 0.0,
                 min_box_size: Sequence[float] = (1, 1), max_people: Optional[int] = None,
                 show_progress: bool = False, precision: Optional[str] = None) -> None:
        self.body_model_dir = body_model_dir
        self.precision = precision
        self.seed = seed
        init_default_scope(scope or 'smplestx')
        if not isinstance(model, (dict, Config)):
            from smplestx.apis.inference import load_config

            model = load_config(model)
        super().__init__(model=model, weights=weights, device=device, scope=scope,
                         show_progress=show_progress)
        self.predictor = FramePredictor(self.model, self.pipeline, boxes, score_thr=score_thr,
                                        min_box_size=min_box_size, max_people=max_people)

    # ------------------------------------------------------------------ setup
    def _init_model(self, cfg: Config, weights: Optional[str], device: str = 'cpu') -> nn.Module:
        return init_model(cfg, weights, device, body_model_dir=self.body_model_dir,
                          seed=None if weights else self.seed, precision=self.precision)

    def _init_pipeline(self, cfg: Config) -> Callable:
        return build_inference_pipeline(cfg)

    def _init_collate(self, cfg: Config) -> Callable:
        return pseudo_collate  # FramePredictor collates; BaseInferencer wants one too

    def _init_visualizer(self, cfg: Config) -> SMPLXVisualizer:
        name = f'smplestx-inferencer-{datetime.now().timestamp()}-{id(self)}'
        return SMPLXVisualizer(name=name, faces=self.faces)

    @property
    def faces(self) -> np.ndarray:
        """(F, 3) mesh faces of the model's body model."""
        return np.asarray(self.model.head.body_model.faces, dtype=np.int64)

    @property
    def box_source(self) -> Optional[Callable[[Frame], np.ndarray]]:
        """The default box source."""
        return self.predictor.box_source

    # ------------------------------------------------------------------ steps
    def visualize(self, inputs: List[Frame], preds: List[List[Dict[str, Any]]],
                  return_vis: bool = False, show: bool = False, **kwargs) -> list:
        """RGB overlays (meshes and boxes) per frame, when ``return_vis`` or ``show``."""
        if not (return_vis or show):
            return [None] * len(inputs)
        out = []
        for frame, people in zip(inputs, preds):
            drawn = self.visualizer.draw_people(frame.image, people)
            if show:
                self.visualizer.show(drawn, win_name=frame.name)
            out.append(drawn)
        return out

    def postprocess(self, preds: List[FrameResult], visualization: list,
                    return_datasamples: bool = False, **kwargs) -> dict:
        """Pack frame results as ``{'predictions': [...], 'visualization': [...]}``."""
        predictions = [r.data_samples if return_datasamples else r.people for r in preds]
        return {'predictions': predictions, 'visualization': visualization}

    # ------------------------------------------------------------------ entry points
    def stream(self, inputs: Union[InputType, Sequence[InputType], Iterable[Frame]],
               batch_size: int = 1, boxes: BoxesSpec = None, return_vis: bool = False,
               return_datasamples: bool = False, show: bool = False, track: bool = False,
               smooth: Optional[Dict[str, Any]] = None) -> Iterator[FrameResult]:
        """Yield one :class:`FrameResult` per frame, in input order, as soon as it is done.

        Args:
            inputs: Image files, folders, videos, BGR arrays, or :class:`Frame` objects.
            batch_size: People per model batch (across frame boundaries).
            boxes: Box source for this call (see
                :func:`~smplestx.apis.detection.make_box_source`); the inferencer's default
                when ``None``.
            return_vis: Attach the RGB overlay image.
            return_datasamples: Attach the model's data samples.
            show: Display each overlay.
            track: Give each person a ``track_id`` that is stable across frames (see
                :class:`~smplestx.apis.smoothing.IoUTracker`); meant for video frames.
            smooth: Smooth the SMPL-X parameters of each track over time (implies
                ``track``): keyword arguments of
                :class:`~smplestx.apis.smoothing.SMPLXSmoother` (``{}`` for the defaults;
                ``fps`` defaults to the video's, else 30). ``vertices``, ``joints`` and
                ``keypoints_2d`` are recomputed from the smoothed parameters; ``transl``
                is kept. Causal: results still come out as frames are done.

        Yields:
            The frame results.
        """
        predictor = self.predictor
        predictor.begin(boxes, self._make_smoother(inputs, track, smooth), batch_size,
                        return_datasamples)
        frames = inputs if _is_frame_iter(inputs) else iter_frames(inputs)
        for frame in frames:
            yield from self._with_vis(predictor.push(frame), return_vis, show)
        yield from self._with_vis(predictor.end(), return_vis, show)

    def _with_vis(self, results: List[FrameResult], return_vis: bool,
                  show: bool) -> Iterator[FrameResult]:
        for result in results:
            result.visualization = self.visualize([result.frame], [result.people],
                                                  return_vis=return_vis, show=show)[0]
            yield result

    @staticmethod
    def _make_smoother(inputs: Any, track: bool,
                       smooth: Optional[Dict[str, Any]]) -> Optional[SMPLXSmoother]:
        video = (isinstance(inputs, str) or hasattr(inputs, '__fspath__')) and \
            input_kind(inputs) == 'video'
        fps = VideoReader(inputs).fps if video and (track or smooth is not None) else None
        return make_smoother(track, smooth, fps)

    def refresh_geometry(self, people: List[Dict[str, Any]]) -> None:
        """Recompute ``vertices``, ``joints`` and keypoints from each person's parameters.

        See :meth:`~smplestx.apis.frame_predictor.FramePredictor.refresh_geometry`.
        """
        self.predictor.refresh_geometry(people)

    def __call__(self, inputs: Union[InputType, Sequence[InputType]], batch_size: int = 1,
                 boxes: BoxesSpec = None, return_vis: bool = False,
                 return_datasamples: bool = False, show: bool = False, track: bool = False,
                 smooth: Optional[Dict[str, Any]] = None, **kwargs) -> dict:
        """Run on all inputs and return ``{'predictions', 'visualization'}`` per frame.

        ``predictions[i]`` is the list of person dicts of frame ``i`` (see
        :class:`FrameResult`), or its data samples with ``return_datasamples``; ``track``
        and ``smooth`` as in :meth:`stream`.
        """
        results = list(self.stream(inputs, batch_size, boxes, return_vis, return_datasamples,
                                   show, track, smooth))
        return self.postprocess(results, [r.visualization for r in results],
                                return_datasamples)


def _is_frame_iter(inputs: Any) -> bool:
    if isinstance(inputs, (str, np.ndarray)) or hasattr(inputs, '__fspath__'):
        return False
    if isinstance(inputs, (list, tuple)):
        return bool(inputs) and isinstance(inputs[0], Frame)
    return True
