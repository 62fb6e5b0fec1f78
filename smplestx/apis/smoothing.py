"""Temporal tracking and smoothing of per-person SMPL-X results of a video.

* :class:`IoUTracker` gives every person box a stable ``track_id`` (greedy IoU matching
  against each track's last box, moved by its last velocity).
* :class:`OneEuroFilter` is a causal, vectorised One Euro filter (Casiez et al., CHI 2012).
* :class:`SMPLXSmoother` tracks the people of each frame and smooths, per track, the
  rotations (filtered as rotation matrices, projected back onto SO(3), then converted to
  axis-angle, so nothing wraps at pi), the expression and the betas (a running mean by
  default). The camera translation ``transl`` is left as predicted: it belongs to each
  crop's own virtual camera (``focal``/``princpt`` change with the box), so it is not a
  continuous quantity across frames.

Everything is causal, so it runs while frames stream in. Vertices, joints and keypoints
must be recomputed from the smoothed parameters afterwards (the inferencer does this).
"""

import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np
import torch

from smplestx.models.utils.rotation import batch_rodrigues, rotmat_to_axis_angle

#: Axis-angle parameters (``smplx`` naming) smoothed as rotations.
ROTATION_KEYS = ('global_orient', 'body_pose', 'left_hand_pose', 'right_hand_pose', 'jaw_pose')
#: Parameters left untouched (see the module docstring).
UNSMOOTHED_KEYS = ('transl', )


def box_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """(N, M) IoU of xyxy boxes ``(N, 4)`` and ``(M, 4)``."""
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(bottom_right - top_left, 0, None).prod(-1)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(-1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


@dataclasses.dataclass
class _Track:
    track_id: int
    box: np.ndarray
    velocity: np.ndarray
    missed: int = 0


class IoUTracker:
    """Greedy IoU tracker giving each person a stable integer ``track_id``.

    Each frame, every live track's box is moved by its last per-frame velocity; then the
    (track, box) pairs are matched greedily by decreasing IoU (ties by track, then box
    order), keeping pairs with IoU >= ``iou_thr``. Unmatched boxes start new tracks (ids
    0, 1, 2, ... in order of appearance); a track survives ``max_missed`` frames without a
    match and is then dropped for good. Deterministic.

    Args:
        iou_thr: Minimum IoU of a match.
        max_missed: Frames a track may go unmatched before it ends.
    """

    def __init__(self, iou_thr: float = 0.3, max_missed: int = 5) -> None:
        if not 0.0 < iou_thr <= 1.0:
            raise ValueError(f'iou_thr must be in (0, 1], got {iou_thr}')
        if max_missed < 0:
            raise ValueError(f'max_missed must be >= 0, got {max_missed}')
        self.iou_thr = iou_thr
        self.max_missed = max_missed
        self.tracks: List[_Track] = []
        self.next_id = 0

    def reset(self) -> None:
        """Forget every track and restart ids at 0."""
        self.tracks, self.next_id = [], 0

    @property
    def live_ids(self) -> List[int]:
        """Ids of the tracks still alive."""
        return [t.track_id for t in self.tracks]

    def update(self, boxes: np.ndarray) -> List[int]:
        """Match one frame's xyxy boxes ``(N, 4)`` (call for every frame, also empty ones).

        Returns:
            The ``track_id`` of each box, in box order.
        """
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        ids: List[Optional[int]] = [None] * len(boxes)
        matched_tracks = set()
        if self.tracks and len(boxes):
            predicted = np.stack([t.box + t.velocity * (t.missed + 1) for t in self.tracks])
            iou = box_iou(predicted, boxes)
            rows, cols = np.nonzero(iou >= self.iou_thr)
            order = np.lexsort((cols, rows, -iou[rows, cols]))
            for r, c in zip(rows[order].tolist(), cols[order].tolist()):
                if r in matched_tracks or ids[c] is not None:
                    continue
                track = self.tracks[r]
                track.velocity = (boxes[c] - track.box) / (track.missed + 1)
                track.box, track.missed = boxes[c].copy(), 0
                matched_tracks.add(r)
                ids[c] = track.track_id
        survivors = []
        for r, track in enumerate(self.tracks):
            if r not in matched_tracks:
                track.missed += 1
            if track.missed <= self.max_missed:
                survivors.append(track)
        for c, box in enumerate(boxes):
            if ids[c] is None:
                survivors.append(_Track(self.next_id, box.copy(), np.zeros(4)))
                ids[c] = self.next_id
                self.next_id += 1
        self.tracks = survivors
        return [int(i) for i in ids]


class OneEuroFilter:
    """Causal One Euro filter (Casiez et al., CHI 2012), element-wise over any array shape.

    The cutoff of the low-pass filter grows with the (low-passed) speed:
    ``cutoff = min_cutoff + beta * |dx/dt|``, so slow jitter is removed and fast motion
    follows with little lag.

    Args:
        min_cutoff: Cutoff frequency (Hz) at rest; lower removes more jitter.
        beta: Speed coefficient; higher reduces lag on fast motion.
        d_cutoff: Cutoff frequency (Hz) of the speed estimate.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0,
                 d_cutoff: float = 1.0) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError(f'One Euro filter needs min_cutoff > 0, d_cutoff > 0, beta >= 0; '
                             f'got {min_cutoff}, {d_cutoff}, {beta}')
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        """Forget the past; the next sample passes through unchanged."""
        self.x_prev: Optional[np.ndarray] = None
        self.dx_prev: Optional[np.ndarray] = None
        self.t_prev: Optional[float] = None

    @staticmethod
    def _alpha(cutoff, dt: float):
        tau = 1.0 / (2.0 * np.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        """Filter sample ``x`` taken at time ``t`` (seconds, increasing).

        Returns:
            The filtered sample (float64, shape of ``x``).
        """
        x = np.asarray(x, dtype=np.float64)
        if self.x_prev is None:
            self.x_prev, self.dx_prev, self.t_prev = x.copy(), np.zeros_like(x), float(t)
            return x.copy()
        if x.shape != self.x_prev.shape:
            raise ValueError(f'One Euro filter got shape {x.shape}, expected '
                             f'{self.x_prev.shape}')
        dt = float(t) - self.t_prev
        if dt <= 0:
            raise ValueError(f'One Euro filter times must increase: {t} after {self.t_prev}')
        a_d = self._alpha(self.d_cutoff, dt)
        dx = a_d * (x - self.x_prev) / dt + (1.0 - a_d) * self.dx_prev
        a = self._alpha(self.min_cutoff + self.beta * np.abs(dx), dt)
        out = a * x + (1.0 - a) * self.x_prev
        self.x_prev, self.dx_prev, self.t_prev = out, dx, float(t)
        return out.copy()


def project_to_so3(mats: np.ndarray) -> np.ndarray:
    """Nearest rotation matrices (in Frobenius norm) of ``(..., 3, 3)`` matrices (SVD)."""
    u, _, vt = np.linalg.svd(mats)
    det = np.linalg.det(u @ vt)
    fix = np.ones(mats.shape[:-1])
    fix[..., -1] = np.sign(det) + (det == 0)
    return (u * fix[..., None, :]) @ vt


def axis_angle_to_matrix(axis_angle: np.ndarray) -> np.ndarray:
    """``(..., 3)`` axis-angle to ``(..., 3, 3)`` rotation matrices (float64)."""
    return batch_rodrigues(torch.from_numpy(np.asarray(axis_angle, np.float64))).numpy()


def matrix_to_axis_angle(mats: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` rotation matrices to ``(..., 3)`` axis-angle (angles in [0, pi])."""
    return rotmat_to_axis_angle(torch.from_numpy(np.asarray(mats, np.float64))).numpy()


class PersonSmoother:
    """Smooths the SMPL-X parameters of one track.

    Args:
        min_cutoff: One Euro ``min_cutoff`` (Hz).
        beta: One Euro ``beta``.
        d_cutoff: One Euro ``d_cutoff`` (Hz).
        betas: ``'mean'`` (running mean over the track) or ``'filter'`` (One Euro).
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.5, d_cutoff: float = 1.0,
                 betas: str = 'mean') -> None:
        if betas not in ('mean', 'filter'):
            raise ValueError(f"betas must be 'mean' or 'filter', got {betas!r}")
        args = (min_cutoff, beta, d_cutoff)
        self.rotations = OneEuroFilter(*args)
        self.expression = OneEuroFilter(*args)
        self.betas_filter = OneEuroFilter(*args) if betas == 'filter' else None
        self.betas_sum: Optional[np.ndarray] = None
        self.count = 0

    def __call__(self, person: Mapping[str, Any], t: float) -> Dict[str, Any]:
        """Return a copy of ``person`` with smoothed rotations, expression and betas."""
        out = dict(person)
        arrays = {k: np.asarray(person[k]) for k in ROTATION_KEYS}
        sizes = [a.size // 3 for a in arrays.values()]
        axis_angle = np.concatenate([a.reshape(-1, 3) for a in arrays.values()])
        mats = self.rotations(axis_angle_to_matrix(axis_angle), t)
        smoothed = matrix_to_axis_angle(project_to_so3(mats))
        for (key, value), part in zip(arrays.items(), np.split(smoothed, np.cumsum(sizes)[:-1])):
            out[key] = part.reshape(value.shape).astype(value.dtype)
        expression = np.asarray(person['expression'])
        out['expression'] = self.expression(expression, t).astype(expression.dtype)
        betas = np.asarray(person['betas'])
        if self.betas_filter is not None:
            out['betas'] = self.betas_filter(betas, t).astype(betas.dtype)
        else:
            self.count += 1
            self.betas_sum = betas.astype(np.float64) + (0 if self.betas_sum is None
                                                         else self.betas_sum)
            out['betas'] = (self.betas_sum / self.count).astype(betas.dtype)
        return out


class SMPLXSmoother:
    """Tracks the people of consecutive frames and smooths their SMPL-X parameters.

    Call it once per frame, in order (also for frames without people). Each returned
    person dict is a copy with ``track_id`` set and, when ``enabled``, smoothed
    rotations, expression and betas; ``transl`` and everything else is unchanged.

    Args:
        fps: Frame rate; frame ``i`` is at ``i / fps`` seconds.
        min_cutoff: One Euro ``min_cutoff`` (Hz).
        beta: One Euro ``beta``.
        d_cutoff: One Euro ``d_cutoff`` (Hz).
        betas: ``'mean'`` or ``'filter'`` (see :class:`PersonSmoother`).
        iou_thr: Tracker IoU threshold.
        max_missed: Frames a track survives unmatched (its filter state survives too).
        enabled: Smooth; ``False`` only assigns track ids.
    """

    def __init__(self, fps: Optional[float] = None, min_cutoff: float = 1.0, beta: float = 0.5,
                 d_cutoff: float = 1.0, betas: str = 'mean', iou_thr: float = 0.3,
                 max_missed: int = 5, enabled: bool = True) -> None:
        self.fps = float(fps) if fps else 30.0
        self.filter_args = dict(min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff, betas=betas)
        PersonSmoother(**self.filter_args)  # validate now
        self.tracker = IoUTracker(iou_thr, max_missed)
        self.enabled = enabled
        self.people: Dict[int, PersonSmoother] = {}

    def __call__(self, frame_index: int, people: Sequence[Mapping[str, Any]]
                 ) -> List[Dict[str, Any]]:
        """Track and smooth the people of frame ``frame_index``."""
        boxes = np.array([np.asarray(p['bbox'], np.float64).reshape(4) for p in people]
                         ).reshape(-1, 4)
        ids = self.tracker.update(boxes)
        live = set(self.tracker.live_ids)
        self.people = {k: v for k, v in self.people.items() if k in live}
        out = []
        for person, track_id in zip(people, ids):
            person = dict(person)
            if self.enabled:
                smoother = self.people.setdefault(track_id, PersonSmoother(**self.filter_args))
                person = smoother(person, frame_index / self.fps)
            person['track_id'] = track_id
            out.append(person)
        return out
