"""Person bounding boxes: sanitising and aspect/ratio processing (official §5.4).

Both functions follow the official ``utils/data_utils.py`` formulas, with one fix:

* **Integer truncation (fixed).** The official ``process_bbox`` writes the enlarged box back
  into the sanitised array, whose dtype is the input's; an integer box therefore gives
  truncated integer results. Here all arithmetic is float64 and the result is float32, so an
  integer box and the same box as floats give the same crop.
"""

from typing import Optional, Sequence, Tuple, Union

import numpy as np

ArrayLike = Union[np.ndarray, Sequence[float]]


def sanitize_bboxes(bboxes: np.ndarray, img_w: ArrayLike,
                    img_h: ArrayLike) -> Tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`sanitize_bbox` over ``(N, 4)`` xywh boxes.

    Args:
        bboxes: ``(N, >=4)`` boxes ``[x, y, w, h, ...]``; extra columns are ignored.
        img_w: Image width(s), a scalar or ``(N,)``.
        img_h: Image height(s), a scalar or ``(N,)``.

    Returns:
        ``(boxes, valid)``: ``(N, 4)`` float64 sanitised boxes (rows where ``valid`` is
        False hold the unclipped arithmetic and must not be used) and a ``(N,)`` bool mask.
    """
    b = np.asarray(bboxes, dtype=np.float64)
    if b.ndim != 2 or b.shape[1] < 4:
        raise ValueError(f'expected (N, >=4) xywh boxes, got shape {b.shape}')
    x, y, w, h = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    img_w = np.asarray(img_w, dtype=np.float64)
    img_h = np.asarray(img_h, dtype=np.float64)
    x1 = np.maximum(0.0, x)
    y1 = np.maximum(0.0, y)
    x2 = np.minimum(img_w - 1, x1 + np.maximum(0.0, w - 1))
    y2 = np.minimum(img_h - 1, y1 + np.maximum(0.0, h - 1))
    with np.errstate(invalid='ignore'):
        valid = (w * h > 0) & (x2 > x1) & (y2 > y1)
    valid &= np.isfinite(b[:, :4]).all(axis=1)
    out = np.stack([x1, y1, x2 - x1, y2 - y1], axis=1)
    return out, valid


def sanitize_bbox(bbox: ArrayLike, img_w: float, img_h: float) -> Optional[np.ndarray]:
    """Clamp an xywh box to the image the official way.

    ``x1 = max(0, x)``, ``x2 = min(W - 1, x1 + max(0, w - 1))`` (the same for y). A box that
    sticks out on the left/top is therefore shifted, not clipped, and every box loses about
    one pixel of width and height.

    Args:
        bbox: ``[x, y, w, h]`` (further values are ignored).
        img_w: Image width in pixels.
        img_h: Image height in pixels.

    Returns:
        The float64 ``[x1, y1, x2 - x1, y2 - y1]``, or ``None`` when the box is degenerate
        (non-positive area, fully outside the image, or not finite).
    """
    boxes, valid = sanitize_bboxes(np.asarray(bbox, dtype=np.float64)[None, :4], img_w, img_h)
    return boxes[0] if valid[0] else None


def fix_aspect_ratio(bboxes: np.ndarray, aspect_ratio: float, ratio: float) -> np.ndarray:
    """Grow the short side to ``w / h = aspect_ratio`` and scale by ``ratio`` about the centre.

    Args:
        bboxes: ``(N, 4)`` xywh boxes (already sanitised).
        aspect_ratio: Target ``w / h`` (0.75 for a 512x384 crop).
        ratio: Enlargement factor applied to both sides.

    Returns:
        ``(N, 4)`` float64 xywh boxes.
    """
    b = np.asarray(bboxes, dtype=np.float64)
    w, h = b[:, 2].copy(), b[:, 3].copy()
    cx, cy = b[:, 0] + w / 2.0, b[:, 1] + h / 2.0
    wide = w > aspect_ratio * h
    tall = w < aspect_ratio * h
    h = np.where(wide, w / aspect_ratio, h)
    w = np.where(tall, h * aspect_ratio, w)
    bw, bh = w * ratio, h * ratio
    return np.stack([cx - bw / 2.0, cy - bh / 2.0, bw, bh], axis=1)


def process_bboxes(bboxes: np.ndarray, img_w: ArrayLike, img_h: ArrayLike,
                   input_img_shape: Tuple[int, int] = (512, 384),
                   ratio: float = 1.25) -> Tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`process_bbox`.

    Args:
        bboxes: ``(N, >=4)`` raw xywh boxes.
        img_w: Image width(s), a scalar or ``(N,)``.
        img_h: Image height(s), a scalar or ``(N,)``.
        input_img_shape: Crop size ``(H, W)``; sets the aspect ratio ``W / H``.
        ratio: Enlargement factor.

    Returns:
        ``(boxes, valid)``: ``(N, 4)`` float32 processed boxes and the ``(N,)`` validity mask
        of :func:`sanitize_bboxes`.
    """
    boxes, valid = sanitize_bboxes(bboxes, img_w, img_h)
    aspect = input_img_shape[1] / input_img_shape[0]
    out = fix_aspect_ratio(boxes, aspect, ratio)
    return out.astype(np.float32), valid


def process_bbox(bbox: ArrayLike, img_w: float, img_h: float,
                 input_img_shape: Tuple[int, int] = (512, 384),
                 ratio: float = 1.25) -> Optional[np.ndarray]:
    """Sanitise a raw xywh box, fix its aspect ratio and enlarge it (official ``process_bbox``).

    Args:
        bbox: Raw ``[x, y, w, h]`` in original-image pixels (int or float).
        img_w: Image width in pixels.
        img_h: Image height in pixels.
        input_img_shape: Crop size ``(H, W)``, ``(512, 384)`` in SMPLest-X.
        ratio: Enlargement factor: 1.2 for the demo, ``1.2 * 0.833`` for HumanData (whose
            boxes already carry 1.2 padding); 1.25 is the official function default.

    Returns:
        The float32 ``[x, y, w, h]`` box with ``w / h = W / H``, or ``None`` when the box is
        degenerate.
    """
    out, valid = process_bboxes(np.asarray(bbox, dtype=np.float64)[None, :4], img_w, img_h,
                                input_img_shape, ratio)
    return out[0] if valid[0] else None


def virtual_camera(bbox: ArrayLike, focal: Tuple[float, float] = (5000.0, 5000.0),
                   princpt: Tuple[float, float] = (96.0, 128.0),
                   input_body_shape: Tuple[int, int] = (256, 192)
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """Intrinsics of the model's virtual camera expressed in original-image pixels (§2.6).

    Args:
        bbox: Processed xywh box (un-augmented crop).
        focal: Virtual focal length in the network input, ``(fx, fy)``.
        princpt: Virtual principal point in the network input, ``(cx, cy)``.
        input_body_shape: Network input size ``(H, W)``.

    Returns:
        ``(focal, princpt)`` as float32 ``(2,)`` arrays.
    """
    x, y, w, h = (float(v) for v in np.asarray(bbox)[:4])
    f = np.array([focal[0] / input_body_shape[1] * w, focal[1] / input_body_shape[0] * h],
                 dtype=np.float32)
    c = np.array([princpt[0] / input_body_shape[1] * w + x,
                  princpt[1] / input_body_shape[0] * h + y], dtype=np.float32)
    return f, c
