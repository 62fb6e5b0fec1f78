"""Frames in, people out: person boxes, crops, batched ``predict``, tracking and smoothing.

:class:`FramePredictor` is the per-frame logic of inference, shared by the Python API
(:class:`~smplestx.apis.SMPLestXInferencer`) and the demo's Runner loop
(:class:`~smplestx.engine.InferenceLoop`). Frames are pushed in order; each frame is split
into people by a box source, every person is cropped by the pipeline (``LoadImage``,
``GetBBox``, ``AffineCrop``, ``PackSMPLXInputs``), the people of consecutive frames are
batched through the model's ``test_step``, and a frame comes back (as a
:class:`FrameResult`) once all its people are predicted. Batches never span two
sequences (:meth:`FramePredictor.begin`), so a sequence's numbers do not depend on what
was run before it.
"""

import collections
import dataclasses
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmengine.logging import print_log
from torch import nn

from smplestx.apis.detection import filter_person_boxes, make_box_source
from smplestx.apis.smoothing import SMPLXSmoother
from smplestx.datasets.utils.media_io import Frame
from smplestx.structures import SMPLXDataSample

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


def build_inference_pipeline(cfg: Any = None) -> Compose:
    """The config's ``inference_pipeline``, or :data:`DEFAULT_PIPELINE`."""
    steps = cfg.get('inference_pipeline', None) if cfg is not None else None
    return Compose(steps or [dict(step) for step in DEFAULT_PIPELINE])


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
            smoothing.
        data_samples: The model's ``SMPLXDataSample`` per person (with
            ``return_datasamples``); always the unsmoothed model outputs.
        visualization: The RGB overlay image (with ``return_vis``).
    """

    frame: Frame
    people: List[Dict[str, Any]]
    data_samples: Optional[list] = None
    visualization: Optional[np.ndarray] = None


def make_smoother(track: bool, smooth: Optional[Dict[str, Any]],
                  fps: Optional[float] = None) -> Optional[SMPLXSmoother]:
    """The tracker/smoother of one video, or ``None`` when neither is asked for.

    Args:
        track: Give each person a ``track_id``.
        smooth: Options of :class:`~smplestx.apis.smoothing.SMPLXSmoother` (``{}`` for the
            defaults); implies ``track``.
        fps: Frame rate, unless ``smooth`` sets one (else the smoother's default).

    Raises:
        ValueError: For unknown or invalid smoothing options.
    """
    if smooth is None and not track:
        return None
    options = dict(smooth or {})
    if options.get('fps') is None and fps is not None:
        options['fps'] = fps
    try:
        return SMPLXSmoother(**options, enabled=smooth is not None)
    except TypeError as err:
        raise ValueError(f'bad smoothing options {sorted(options)}: {err}') from None


def outside_image(box: Sequence[float], image_size: Tuple[int, int]) -> bool:
    """Whether an ``[x1, y1, x2, y2]`` box misses the image entirely (on any side)."""
    height, width = image_size
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    return x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height


class FramePredictor:
    """Per-frame inference shared by the inferencer and the demo's Runner loop.

    Args:
        model: The model (eval mode; ``test_step`` and ``head.body_model``).
        pipeline: Transforms from one person box to the model input.
        box_source: Default ``source(frame) -> (N, 5)`` boxes (see
            :func:`~smplestx.apis.detection.make_box_source`).
        batch_size: People per model batch.
        score_thr: Minimum score of a person box.
        min_box_size: Minimum (width, height) of a person box in pixels.
        max_people: Keep at most this many people per frame.
        track: Track the people of videos (:meth:`begin_unit`).
        smooth: Smooth the people of videos (options of
            :class:`~smplestx.apis.smoothing.SMPLXSmoother`; implies ``track``).
    """

    def __init__(self, model: nn.Module, pipeline: Callable, box_source: Any = None,
                 batch_size: int = 1, score_thr: float = 0.0,
                 min_box_size: Sequence[float] = (1, 1), max_people: Optional[int] = None,
                 track: bool = False, smooth: Optional[Dict[str, Any]] = None) -> None:
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        self.model = model
        self.pipeline = pipeline
        self.box_source = make_box_source(box_source, max_people)
        self.batch_size = batch_size
        self.score_thr = score_thr
        self.min_box_size = tuple(min_box_size)
        self.max_people = max_people
        self.track = track
        self.smooth = smooth
        self.begin()

    # ------------------------------------------------------------------ sequences
    def begin(self, box_source: Any = None, smoother: Optional[SMPLXSmoother] = None,
              batch_size: Optional[int] = None, return_datasamples: bool = False) -> None:
        """Start a new sequence of frames (pending people of the last one must be ended).

        Args:
            box_source: Box source for this sequence; the default one when ``None``.
            smoother: Tracker/smoother of this sequence (see :func:`make_smoother`).
            batch_size: People per batch for this sequence.
            return_datasamples: Attach the model's data samples to the results.
        """
        self._source = (make_box_source(box_source, self.max_people)
                        if box_source is not None else self.box_source)
        self._smoother = smoother
        self._batch = self.batch_size if batch_size is None else batch_size
        if self._batch < 1:
            raise ValueError(f'batch_size must be >= 1, got {self._batch}')
        self._return_samples = return_datasamples
        self._pending: List[dict] = []
        self._queue: Deque[Tuple[Frame, int]] = collections.deque()
        self._samples: List[Any] = []

    def begin_unit(self, meta: Dict[str, Any]) -> None:
        """Start one unit of the demo's dataset (``meta``: its input's description).

        Only videos are tracked and smoothed (with this predictor's ``track``/``smooth``,
        at the video's frame rate).
        """
        video = meta.get('kind') == 'video'
        smoother = make_smoother(self.track, self.smooth, meta.get('fps')) if video else None
        self.begin(smoother=smoother)

    def push(self, frame: Frame) -> List[FrameResult]:
        """Add the next frame; returns the frames now complete, in order."""
        items = self.person_inputs(frame, self.person_boxes(frame))
        self._pending.extend(items)
        self._queue.append((frame, len(items)))
        while len(self._pending) >= self._batch:
            self._forward(self._pending[:self._batch])
            self._pending = self._pending[self._batch:]
        return self._pop_done()

    def end(self) -> List[FrameResult]:
        """Predict the people still pending; returns the remaining frames."""
        if self._pending:
            self._forward(self._pending)
            self._pending = []
        return self._pop_done()

    # ------------------------------------------------------------------ steps
    def person_boxes(self, frame: Frame) -> np.ndarray:
        """(N, 5) boxes of the people in ``frame``: filtered by score and size, in the image.

        A box that misses the image entirely (on any side) is skipped with a warning.
        """
        if self._source is None:
            raise ValueError('no person boxes: pass boxes=... (a detector, a boxes file, '
                             "boxes or 'whole_image')")
        boxes = np.asarray(self._source(frame), dtype=np.float32).reshape(-1, 5)
        keep = []
        for i, box in enumerate(boxes):
            if outside_image(box, frame.image_size):
                height, width = frame.image_size
                print_log(f'frame {frame.name}: skipping box {i} {box[:4].tolist()}: it lies '
                          f'outside the {width}x{height} image', logger='current', level=30)
            else:
                keep.append(i)
        boxes = boxes[keep]
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
                print_log(f'frame {frame.name}: skipping box {pid}: {err}', logger='current',
                          level=30)
        return items

    @torch.no_grad()
    def _forward(self, items: List[dict]) -> None:
        self._samples.extend(self.model.test_step(pseudo_collate(items)))

    def _pop_done(self) -> List[FrameResult]:
        out = []
        while self._queue and self._queue[0][1] <= len(self._samples):
            frame, count = self._queue.popleft()
            mine, self._samples = self._samples[:count], self._samples[count:]
            people = [self.sample_to_person(s) for s in mine]
            if self._smoother is not None:
                people = self._smoother(frame.index, people)
                if self._smoother.enabled:
                    self.refresh_geometry(people)
            out.append(FrameResult(frame, people, mine if self._return_samples else None))
        return out

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
