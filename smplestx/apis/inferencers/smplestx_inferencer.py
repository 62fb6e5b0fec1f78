"""MMEngine-style inferencer: images, folders and videos in, per-frame per-person SMPL-X out."""

import collections
import dataclasses
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.infer import BaseInferencer
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from torch import nn

from smplestx.apis.detection import GivenBoxes, WholeImageBoxes, filter_person_boxes
from smplestx.apis.frames import Frame, InputType, VideoReader, input_kind, iter_frames
from smplestx.apis.inference import ConfigLike, init_model
from smplestx.apis.smoothing import SMPLXSmoother
from smplestx.registry import INFERENCERS
from smplestx.structures import SMPLXDataSample
from smplestx.visualization import SMPLXVisualizer

#: Transforms that turn one frame and one person box into the model input.
DEFAULT_PIPELINE = (
    dict(type='LoadImage'),
    dict(type='GetBBox', ratio=1.2, input_img_shape=(512, 384)),
    dict(type='AffineCrop', input_img_shape=(512, 384)),
    dict(type='PackSMPLXInputs',
         meta_keys=('img_path', 'ori_shape', 'img_shape', 'bbox', 'bbox_raw', 'bb2img_trans',
                    'img2bb_trans', 'focal', 'princpt', 'det_bbox', 'score', 'frame_index',
                    'person_index')),
)

BoxesSpec = Union[None, str, np.ndarray, Sequence, Dict[str, Any], Callable[[Frame], np.ndarray]]


@dataclasses.dataclass
class FrameResult:
    """The prediction for one frame.

    Attributes:
        frame: The frame (index, name, RGB image, source path).
        people: Per-person dicts of numpy arrays: the SMPL-X parameters in ``smplx``
            naming with a leading dim 1 (``global_orient`` (1, 3), ``body_pose``
            (1, 21, 3), ``left_hand_pose``/``right_hand_pose`` (1, 15, 3), ``jaw_pose``,
            ``betas``, ``expression``, ``transl``), ``vertices`` (1, V, 3) and ``joints``
            in the person's camera, ``keypoints_2d`` (1, 137, 2), ``focal``/``princpt``
            (1, 2) in image pixels, ``bbox`` (4,) detector box xyxy, ``score`` and
            ``crop_bbox`` (4,) processed xywh box; ``track_id`` (int) when tracking or
            smoothing (see :meth:`SMPLestXInferencer.stream`).
        data_samples: The model's ``SMPLXDataSample`` per person (with
            ``return_datasamples``); always the unsmoothed model outputs.
        visualization: The RGB overlay image (with ``return_vis``).
    """

    frame: Frame
    people: List[Dict[str, Any]]
    data_samples: Optional[list] = None
    visualization: Optional[np.ndarray] = None


def make_box_source(boxes: BoxesSpec, max_people: Optional[int] = None
                    ) -> Optional[Callable[[Frame], np.ndarray]]:
    """Normalise a boxes argument into ``source(frame) -> (N, 5)`` boxes.

    Args:
        boxes: ``None`` (no source), ``'whole_image'``, a JSON file path (see
            :class:`~smplestx.apis.detection.GivenBoxes`), an array or list of
            ``[x1, y1, x2, y2(, score)]`` rows used for every frame, a dict mapping frame
            names to such rows, or a callable.
        max_people: Keep at most this many boxes per frame.

    Returns:
        The box source, or ``None``.
    """
    if boxes is None or callable(boxes):
        return boxes
    if isinstance(boxes, str):
        if boxes == 'whole_image':
            return WholeImageBoxes()
        return GivenBoxes.from_json(boxes, max_people)
    return GivenBoxes(boxes, max_people, where='boxes argument')


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
        boxes: Default box source (see :func:`make_box_source`), e.g. a
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
        self.score_thr = score_thr
        self.min_box_size = tuple(min_box_size)
        self.max_people = max_people
        self.box_source = make_box_source(boxes, max_people)
        init_default_scope(scope or 'smplestx')
        if not isinstance(model, (dict, Config)):
            from smplestx.apis.inference import load_config

            model = load_config(model)
        super().__init__(model=model, weights=weights, device=device, scope=scope,
                         show_progress=show_progress)

    # ------------------------------------------------------------------ setup
    def _init_model(self, cfg: Config, weights: Optional[str], device: str = 'cpu') -> nn.Module:
        return init_model(cfg, weights, device, body_model_dir=self.body_model_dir,
                          seed=None if weights else self.seed, precision=self.precision)

    def _init_pipeline(self, cfg: Config) -> Callable:
        steps = cfg.get('inference_pipeline', None) or [dict(step) for step in DEFAULT_PIPELINE]
        return Compose(steps)

    def _init_collate(self, cfg: Config) -> Callable:
        return pseudo_collate

    def _init_visualizer(self, cfg: Config) -> SMPLXVisualizer:
        name = f'smplestx-inferencer-{datetime.now().timestamp()}-{id(self)}'
        return SMPLXVisualizer(name=name, faces=self.faces)

    @property
    def faces(self) -> np.ndarray:
        """(F, 3) mesh faces of the model's body model."""
        return np.asarray(self.model.head.body_model.faces, dtype=np.int64)

    # ------------------------------------------------------------------ steps
    def person_boxes(self, frame: Frame,
                     source: Optional[Callable[[Frame], np.ndarray]] = None) -> np.ndarray:
        """(N, 5) boxes of the people in ``frame``, filtered by score and size."""
        source = source or self.box_source
        if source is None:
            raise ValueError('no person boxes: pass boxes=... (a detector, a boxes file, '
                             "boxes or 'whole_image')")
        boxes = np.asarray(source(frame), dtype=np.float32).reshape(-1, 5)
        return filter_person_boxes(boxes[:, :4], boxes[:, 4], None, 0, self.score_thr,
                                   self.min_box_size, self.max_people)

    def person_inputs(self, frame: Frame, boxes: np.ndarray) -> List[dict]:
        """Run the pipeline for each box of a frame; degenerate boxes are skipped."""
        items = []
        for pid, (x1, y1, x2, y2, score) in enumerate(boxes.tolist()):
            results = dict(img=frame.image, img_path=frame.source or frame.name,
                           bbox=[x1, y1, x2 - x1, y2 - y1],
                           det_bbox=np.array([x1, y1, x2, y2], dtype=np.float32),
                           score=float(score), frame_index=frame.index, person_index=pid)
            try:
                items.append(self.pipeline(results))
            except ValueError as err:
                print_log(f'frame {frame.name}: skipping box {pid}: {err}', level=30)
        return items

    def preprocess(self, inputs: Iterable[Frame], batch_size: int = 1,
                   boxes: BoxesSpec = None, **kwargs) -> Iterator[tuple]:
        """Yield ``(frames_done, batch)``: model batches of up to ``batch_size`` people.

        ``frames_done`` lists ``(frame, number_of_people)`` for frames whose people all
        belong to this or earlier batches (frames without people come through too).
        """
        source = make_box_source(boxes, self.max_people) if boxes is not None else None
        pending: List[dict] = []
        finished: List[tuple] = []
        for frame in inputs:
            items = self.person_inputs(frame, self.person_boxes(frame, source))
            pending.extend(items)
            finished.append((frame, len(items)))
            while len(pending) >= batch_size:
                yield finished, self.collate_fn(pending[:batch_size])
                pending, finished = pending[batch_size:], []
        if pending or finished:
            yield finished, self.collate_fn(pending) if pending else None

    @torch.no_grad()
    def forward(self, inputs: Optional[dict], **kwargs) -> list:
        """Run ``model.test_step`` on a collated batch (empty for ``None``)."""
        return [] if inputs is None else self.model.test_step(inputs)

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

    @staticmethod
    def sample_to_person(sample: Any) -> Dict[str, Any]:
        """Numpy arrays of one predicted data sample, with its box and score."""
        person = {}
        for key, value in sample.pred_instances.items():
            person[key] = value.detach().cpu().numpy() if torch.is_tensor(value) else value
        meta = sample.metainfo
        if 'det_bbox' in meta:
            person['bbox'] = np.asarray(meta['det_bbox'], dtype=np.float32).reshape(4)
        if 'score' in meta:
            person['score'] = float(meta['score'])
        if 'bbox' in meta:
            person['crop_bbox'] = np.asarray(meta['bbox'], dtype=np.float32).reshape(4)
        return person

    # ------------------------------------------------------------------ entry points
    def stream(self, inputs: Union[InputType, Sequence[InputType], Iterable[Frame]],
               batch_size: int = 1, boxes: BoxesSpec = None, return_vis: bool = False,
               return_datasamples: bool = False, show: bool = False, track: bool = False,
               smooth: Optional[Dict[str, Any]] = None) -> Iterator[FrameResult]:
        """Yield one :class:`FrameResult` per frame, in input order, as soon as it is done.

        Args:
            inputs: Image files, folders, videos, BGR arrays, or :class:`Frame` objects.
            batch_size: People per model batch (across frame boundaries).
            boxes: Box source for this call (see :func:`make_box_source`); the
                inferencer's default when ``None``.
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
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        smoother = self._make_smoother(inputs, track, smooth)
        frames = inputs if _is_frame_iter(inputs) else iter_frames(inputs)
        queue: collections.deque = collections.deque()
        samples: List[Any] = []
        for finished, batch in self.preprocess(frames, batch_size, boxes):
            samples.extend(self.forward(batch))
            queue.extend(finished)
            while queue and queue[0][1] <= len(samples):
                frame, count = queue.popleft()
                mine, samples = samples[:count], samples[count:]
                people = [self.sample_to_person(s) for s in mine]
                if smoother is not None:
                    people = smoother(frame.index, people)
                    if smoother.enabled:
                        self.refresh_geometry(people)
                vis = self.visualize([frame], [people], return_vis=return_vis, show=show)[0]
                yield FrameResult(frame, people, mine if return_datasamples else None, vis)

    @staticmethod
    def _make_smoother(inputs: Any, track: bool,
                       smooth: Optional[Dict[str, Any]]) -> Optional[SMPLXSmoother]:
        if smooth is None and not track:
            return None
        options = dict(smooth or {})
        video = (isinstance(inputs, str) or hasattr(inputs, '__fspath__')) and \
            input_kind(inputs) == 'video'
        if options.get('fps') is None and video:  # otherwise SMPLXSmoother's default
            options['fps'] = VideoReader(inputs).fps
        try:
            return SMPLXSmoother(**options, enabled=smooth is not None)
        except TypeError as err:
            raise ValueError(f'bad smoothing options {sorted(options)}: {err}') from None

    @torch.no_grad()
    def refresh_geometry(self, people: List[Dict[str, Any]]) -> None:
        """Recompute ``vertices``, ``joints`` and keypoints from each person's parameters.

        Runs the model's body model on the (e.g. smoothed) SMPL-X parameters and camera
        translation of all ``people`` at once, exactly as the head does for its own
        predictions, and updates the dicts in place.
        """
        if not people:
            return
        head = self.model.head
        param = next(self.model.parameters())

        def stack(key: str, size: int) -> torch.Tensor:
            rows = [np.asarray(p[key], np.float32).reshape(size) for p in people]
            return torch.from_numpy(np.stack(rows)).to(param.device, param.dtype)

        out = dict(root_pose=stack('global_orient', 3), body_pose=stack('body_pose', 63),
                   lhand_pose=stack('left_hand_pose', 45),
                   rhand_pose=stack('right_hand_pose', 45), jaw_pose=stack('jaw_pose', 3),
                   shape=stack('betas', 10), expr=stack('expression', 10),
                   cam_trans=stack('transl', 3))
        out.update(head.body_model.get_coord(
            out['root_pose'], out['body_pose'], out['lhand_pose'], out['rhand_pose'],
            out['jaw_pose'], out['shape'], out['expr'], out['cam_trans']))
        samples = [SMPLXDataSample(metainfo={'bbox': p['crop_bbox']} if 'crop_bbox' in p else {})
                   for p in people]
        for person, sample in zip(people, head.pack_predictions(out, samples)):
            for key, value in sample.pred_instances.items():
                if key in ('vertices', 'joints') or key.startswith('keypoints_2d'):
                    person[key] = value.detach().cpu().numpy()

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
