"""Where the demo's person boxes come from: an mmdet detector, a boxes file, or the whole image.

Every source is a callable ``source(frame) -> (N, 5) float32`` array of
``[x1, y1, x2, y2, score]`` rows in original-image pixels, best first.

The mmdet detector is imported lazily: the rest of smplestx never needs mmdet or the
compiled mmcv ops. It is fed the frame as **BGR uint8**, which is what mmdet's
``inference_detector`` expects for arrays (the official demo passed RGB float32 to a
BGR detector). All people are kept (the official demo kept only the top-scoring box),
filtered by class, score and size.
"""

import json
import os
import os.path as osp
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.registry import DefaultScope

#: mmdet config used when none is given: RTMDet-tiny trained on COCO (class 0 = person).
DEFAULT_DET_CONFIG = 'rtmdet/rtmdet_tiny_8xb32-300e_coco.py'
#: Where the RTMDet-tiny COCO weights are published (the user downloads them).
DEFAULT_DET_WEIGHTS_URL = ('https://download.openmmlab.com/mmdetection/v3.0/rtmdet/'
                           'rtmdet_tiny_8xb32-300e_coco/'
                           'rtmdet_tiny_8xb32-300e_coco_20220902_112414-78e30dcc.pth')
MMDET_MISSING = ('person detection needs mmdet + full mmcv: see docs/get_started.md, or use '
                 '--bboxes/--whole-image')

BoxSource = Callable[[Any], np.ndarray]


class DetectorUnavailableError(RuntimeError):
    """The person detector cannot run (mmdet or full mmcv missing, or no weights)."""


def _empty() -> np.ndarray:
    return np.zeros((0, 5), dtype=np.float32)


def filter_person_boxes(bboxes: np.ndarray, scores: np.ndarray,
                        labels: Optional[np.ndarray] = None, person_label: int = 0,
                        score_thr: float = 0.5, min_size: Tuple[float, float] = (16, 32),
                        max_people: Optional[int] = None) -> np.ndarray:
    """Keep person boxes with a high enough score and size, best first.

    Args:
        bboxes: (N, 4) ``[x1, y1, x2, y2]`` boxes.
        scores: (N,) confidences.
        labels: (N,) class ids; when given, only ``person_label`` is kept.
        person_label: Class id of "person" (0 for COCO).
        score_thr: Minimum score.
        min_size: Minimum (width, height) in pixels.
        max_people: Keep at most this many boxes (all when ``None``).

    Returns:
        (M, 5) float32 ``[x1, y1, x2, y2, score]`` sorted by decreasing score.
    """
    bboxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    keep = np.isfinite(bboxes).all(1) & np.isfinite(scores) & (scores >= score_thr)
    if labels is not None:
        keep &= np.asarray(labels).reshape(-1) == person_label
    width, height = bboxes[:, 2] - bboxes[:, 0], bboxes[:, 3] - bboxes[:, 1]
    keep &= (width >= min_size[0]) & (height >= min_size[1])
    order = np.argsort(-scores[keep], kind='stable')
    out = np.concatenate([bboxes[keep], scores[keep, None]], 1)[order]
    if max_people is not None:
        out = out[:max_people]
    return out.astype(np.float32)


def mmdet_config_path(config: Optional[str] = None) -> str:
    """Resolve a detector config: a file path, or a path inside mmdet's bundled configs.

    Args:
        config: A config file, a path relative to ``mmdet/.mim/configs`` (e.g.
            ``'rtmdet/rtmdet_tiny_8xb32-300e_coco.py'``), or ``None`` for
            :data:`DEFAULT_DET_CONFIG`.

    Returns:
        The config file path.

    Raises:
        DetectorUnavailableError: If mmdet is not installed.
        FileNotFoundError: If the config cannot be found.
    """
    config = config or DEFAULT_DET_CONFIG
    if osp.isfile(config):
        return config
    import importlib.util

    spec = importlib.util.find_spec('mmdet')
    if spec is None or not spec.submodule_search_locations:
        raise DetectorUnavailableError(MMDET_MISSING)
    root = list(spec.submodule_search_locations)[0]
    for base in (osp.join(root, '.mim', 'configs'), osp.join(osp.dirname(root), 'configs')):
        candidate = osp.join(base, config)
        if osp.isfile(candidate):
            return candidate
    raise FileNotFoundError(f'detector config {config} is neither a file nor in mmdet\'s '
                            f'bundled configs ({osp.join(root, ".mim", "configs")})')


class PersonDetector:
    """An mmdet detector that returns all people in a frame.

    Args:
        config: mmdet config (see :func:`mmdet_config_path`); RTMDet-tiny by default.
        checkpoint: Detector weights (required; e.g. :data:`DEFAULT_DET_WEIGHTS_URL`
            downloaded by the user).
        device: Torch device.
        score_thr: Minimum detection score.
        min_size: Minimum box (width, height) in pixels.
        max_people: Keep at most this many people per frame.
        person_label: Class id of "person" in the detector's classes.

    Raises:
        DetectorUnavailableError: If mmdet/full mmcv is missing or no weights are given.
    """

    def __init__(self, config: Optional[str] = None, checkpoint: Optional[str] = None,
                 device: str = 'cpu', score_thr: float = 0.5,
                 min_size: Tuple[float, float] = (16, 32), max_people: Optional[int] = None,
                 person_label: int = 0) -> None:
        try:
            from mmdet.apis import inference_detector, init_detector
        except ImportError as err:  # includes mmcv._ext missing (mmcv-lite)
            raise DetectorUnavailableError(MMDET_MISSING) from err
        if not checkpoint:
            raise DetectorUnavailableError(
                f'person detection needs detector weights: pass --det-checkpoint (e.g. the '
                f'RTMDet-tiny COCO weights from {DEFAULT_DET_WEIGHTS_URL}), or use '
                f'--bboxes/--whole-image')
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'detector checkpoint {checkpoint} does not exist')
        from smplestx.utils.checkpoint import mmengine_safe_globals

        self._inference = inference_detector
        # mmdet builds its pipeline from unprefixed names: keep its registry scope active,
        # and restore ours afterwards (init_detector sets the global default scope).
        with DefaultScope.overwrite_default_scope('mmdet'), mmengine_safe_globals(checkpoint):
            self.model = init_detector(mmdet_config_path(config), checkpoint, device=device)
        self.score_thr = score_thr
        self.min_size = tuple(min_size)
        self.max_people = max_people
        self.person_label = person_label

    def detect(self, image_bgr: np.ndarray) -> np.ndarray:
        """Detect people in a BGR uint8 image; returns (N, 5) ``[x1, y1, x2, y2, score]``."""
        image_bgr = np.ascontiguousarray(image_bgr, dtype=np.uint8)
        with DefaultScope.overwrite_default_scope('mmdet'):
            result = self._inference(self.model, image_bgr)
        pred = result.pred_instances
        return filter_person_boxes(
            pred.bboxes.cpu().numpy(), pred.scores.cpu().numpy(), pred.labels.cpu().numpy(),
            self.person_label, self.score_thr, self.min_size, self.max_people)

    def __call__(self, frame: Any) -> np.ndarray:
        """Boxes for a frame (anything with a BGR ``image_bgr`` attribute) or a BGR array."""
        image = getattr(frame, 'image_bgr', frame)
        return self.detect(image)


class WholeImageBoxes:
    """One box covering the whole frame (score 1)."""

    def __call__(self, frame: Any) -> np.ndarray:
        """``[[0, 0, W, H, 1]]`` for the frame's image size."""
        height, width = frame.image_size
        return np.array([[0, 0, width, height, 1.0]], dtype=np.float32)


def _as_boxes(value: Any, where: str) -> np.ndarray:
    rows = np.asarray(value, dtype=object).tolist() if isinstance(value, np.ndarray) else value
    if not isinstance(rows, (list, tuple)):
        raise ValueError(f'{where}: expected a list of boxes, got {type(rows).__name__}')
    if rows and not isinstance(rows[0], (list, tuple)):
        rows = [rows]
    out = []
    for row in rows:
        if not isinstance(row, (list, tuple)) or len(row) not in (4, 5):
            raise ValueError(f'{where}: boxes must be [x1, y1, x2, y2] or [x1, y1, x2, y2, '
                             f'score] rows, got {row!r}')
        try:
            box = [float(v) for v in row] + [1.0] * (5 - len(row))
        except (TypeError, ValueError) as err:
            raise ValueError(f'{where}: box {row!r} is not numeric') from err
        if not np.isfinite(box).all():
            raise ValueError(f'{where}: box {row!r} has non-finite values')
        if box[2] <= box[0] or box[3] <= box[1]:
            raise ValueError(f'{where}: box {row!r} has x2 <= x1 or y2 <= y1 (boxes are '
                             f'[x1, y1, x2, y2])')
        out.append(box)
    return np.asarray(out, dtype=np.float32).reshape(-1, 5)


class GivenBoxes:
    """Boxes given by the user: one list for every frame, or a list per frame.

    ``data`` is either a list of boxes used for every frame, or a mapping from a frame
    key to its list of boxes. A frame key is the frame's name (an image's file name or
    stem, or a video frame's zero-padded number such as ``"000012"``) or its 0-based index
    as a string. Each box is ``[x1, y1, x2, y2]`` or ``[x1, y1, x2, y2, score]`` in
    original-image pixels (score 1 when absent). Frames without an entry have no people.

    Args:
        data: The boxes.
        max_people: Keep at most this many boxes per frame (highest score first).
        where: Name of the origin for error messages.

    Raises:
        ValueError: If the layout or a box is invalid (the message names ``where``).
    """

    def __init__(self, data: Any, max_people: Optional[int] = None,
                 where: str = '<boxes>') -> None:
        self.where = where
        self.max_people = max_people
        self.shared: Optional[np.ndarray] = None
        self.per_frame: Dict[str, np.ndarray] = {}
        if isinstance(data, Mapping):
            self.per_frame = {str(k): _as_boxes(v, f'{where} [{k!r}]') for k, v in data.items()}
        elif isinstance(data, (list, tuple, np.ndarray)):
            self.shared = _as_boxes(data, where)
        else:
            raise ValueError(f'{where} must hold a list of boxes or an object mapping frame '
                             f'names to boxes, got {type(data).__name__}')

    @classmethod
    def from_json(cls, path: Union[str, os.PathLike],
                  max_people: Optional[int] = None) -> 'GivenBoxes':
        """Read boxes from a JSON file (see the class docstring for the layout).

        Raises:
            FileNotFoundError: If the file does not exist.
            ValueError: If it is not valid JSON of that layout.
        """
        path = os.fspath(path)
        try:
            with open(path, encoding='utf-8') as f:
                data = json.load(f)
        except FileNotFoundError as err:
            raise FileNotFoundError(f'boxes file {path} does not exist') from err
        except (OSError, ValueError) as err:
            raise ValueError(f'boxes file {path} is not valid JSON: {err}') from err
        return cls(data, max_people, where=f'boxes file {path}')

    @staticmethod
    def keys_for(frame: Any) -> Sequence[str]:
        """Keys that may name ``frame``."""
        keys = [str(frame.name), str(frame.index)]
        if frame.source:
            base = osp.basename(frame.source)
            keys += [base, osp.splitext(base)[0]]
        return keys

    def __call__(self, frame: Any) -> np.ndarray:
        """The boxes of ``frame``, best first."""
        boxes = self.shared
        if boxes is None:
            boxes = next((self.per_frame[k] for k in self.keys_for(frame)
                          if k in self.per_frame), _empty())
        boxes = boxes[np.argsort(-boxes[:, 4], kind='stable')]
        return boxes[:self.max_people] if self.max_people is not None else boxes
