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
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.registry import DefaultScope

#: mmdet config used when none is given: RTMDet-tiny trained on COCO (class 0 = person).
DEFAULT_DET_CONFIG = 'rtmdet/rtmdet_tiny_8xb32-300e_coco.py'
#: Where the RTMDet-tiny COCO weights are published; downloaded once into the torch hub cache.
DEFAULT_DET_WEIGHTS_URL = ('https://download.openmmlab.com/mmdetection/v3.0/rtmdet/'
                           'rtmdet_tiny_8xb32-300e_coco/'
                           'rtmdet_tiny_8xb32-300e_coco_20220902_112414-78e30dcc.pth')
#: File name of those weights in the cache.
DEFAULT_DET_WEIGHTS_FILE = osp.basename(DEFAULT_DET_WEIGHTS_URL)
#: SHA-256 of those weights as OpenMMLab publishes it: its first 8 hex digits, in the file
#: name (the convention of mmengine's publish_model and of torch.hub's check_hash).
DEFAULT_DET_WEIGHTS_SHA256 = '78e30dcc'
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


def detector_weights_path(url: str = DEFAULT_DET_WEIGHTS_URL) -> str:
    """Where the weights published at ``url`` live in the torch hub cache."""
    import torch

    return osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(url))


def ensure_detector_weights(url: str = DEFAULT_DET_WEIGHTS_URL,
                            sha256: str = DEFAULT_DET_WEIGHTS_SHA256,
                            progress: bool = True) -> str:
    """The person detector's weights, downloaded once into the torch hub cache and verified.

    A cached file is used when its SHA-256 starts with ``sha256`` (a full digest or its
    published prefix). Otherwise the file is downloaded, with a progress bar, to a
    temporary name next to its place; it is moved there only when its SHA-256 matches, so
    a failed or corrupt download leaves nothing in the cache.

    Args:
        url: Where the weights are published.
        sha256: Their SHA-256 (hex; a prefix is enough).
        progress: Show a progress bar on stderr.

    Returns:
        The path of the verified file.

    Raises:
        DetectorUnavailableError: Offline, or when the download does not match ``sha256``
            (the message says what to download and where to put it).
    """
    import torch

    from smplestx.utils.io import file_sha256

    path = detector_weights_path(url)
    if osp.isfile(path):
        if file_sha256(path).startswith(sha256.lower()):
            return path
        raise DetectorUnavailableError(
            f'the cached detector weights {path} do not match their SHA-256 {sha256}: delete '
            f'the file (it is downloaded again), or pass --det-checkpoint')
    os.makedirs(osp.dirname(path), exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, path, hash_prefix=sha256.lower(),
                                       progress=progress)
    except RuntimeError as err:  # torch.hub's hash check; the partial file is removed
        raise DetectorUnavailableError(
            f'the person detector weights downloaded from {url} are corrupt ({err}); nothing '
            f'was kept in {osp.dirname(path)}; try again, or download the file yourself and '
            f'pass --det-checkpoint') from None
    except OSError as err:  # URLError, connection and HTTP errors
        reason = getattr(err, 'reason', None) or err
        raise DetectorUnavailableError(
            f'cannot download the person detector weights ({reason}): download {url} and '
            f'put it at {path}, or pass --det-checkpoint FILE, or use --bboxes/--whole-image'
        ) from None
    return path


class PersonDetector:
    """An mmdet detector that returns all people in a frame.

    Args:
        config: mmdet config (see :func:`mmdet_config_path`); RTMDet-tiny by default.
        checkpoint: Detector weights; by default the RTMDet-tiny COCO weights, downloaded
            once (:func:`ensure_detector_weights`).
        device: Torch device.
        score_thr: Minimum detection score.
        min_size: Minimum box (width, height) in pixels.
        max_people: Keep at most this many people per frame.
        person_label: Class id of "person" in the detector's classes.

    Raises:
        DetectorUnavailableError: If mmdet/full mmcv is missing or the default weights can
            neither be found nor downloaded.
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
            checkpoint = ensure_detector_weights()
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

    def unmatched_keys(self, frame_keys: Iterable[str]) -> List[str]:
        """The file's frame keys that are not among ``frame_keys`` (e.g. typos), in file order."""
        known = set(frame_keys)
        return [key for key in self.per_frame if key not in known]


def make_box_source(boxes: Any, max_people: Optional[int] = None
                    ) -> Optional[Callable[[Any], np.ndarray]]:
    """Normalise a boxes argument into ``source(frame) -> (N, 5)`` boxes.

    Args:
        boxes: ``None`` (no source), ``'whole_image'``, a JSON file path (see
            :class:`GivenBoxes`), an array or list of ``[x1, y1, x2, y2(, score)]`` rows used
            for every frame, a dict mapping frame names to such rows, or a callable.
        max_people: Keep at most this many boxes per frame.

    Returns:
        The box source, or ``None``.
    """
    if boxes is None or callable(boxes):
        return boxes
    if isinstance(boxes, (str, os.PathLike)):
        if boxes == 'whole_image':
            return WholeImageBoxes()
        return GivenBoxes.from_json(boxes, max_people)
    return GivenBoxes(boxes, max_people, where='boxes argument')
