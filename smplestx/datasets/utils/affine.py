"""The 3-point affine transform between a box in the image and the network crop (§5.5).

:func:`get_affine_transform` reproduces the official ``gen_trans_from_patch_cv``: the box
centre, the centre plus the (scaled, rotated) half-height vector and the centre plus the
half-width vector are mapped onto the crop centre, the bottom-centre and the right-centre
of the output with ``cv2.getAffineTransform``. The points are float32 as in the official
code, so the matrix is bit-identical to it.
"""

from typing import Sequence, Tuple

import cv2
import numpy as np


def _rotate(vec: np.ndarray, rad: float) -> np.ndarray:
    sin, cos = np.sin(rad), np.cos(rad)
    return np.array([vec[0] * cos - vec[1] * sin, vec[0] * sin + vec[1] * cos],
                    dtype=np.float32)


def get_affine_transform(center: Sequence[float], size: Sequence[float],
                         out_size: Tuple[int, int], scale: float = 1.0, rot: float = 0.0,
                         inv: bool = False) -> np.ndarray:
    """Affine matrix from a (rotated, scaled) box to an output patch.

    Args:
        center: Box centre ``(cx, cy)`` in source pixels.
        size: Box size ``(w, h)`` in source pixels.
        out_size: Output patch size ``(W, H)`` (note: width first, like ``cv2``).
        scale: Box scale factor (augmentation); the source box is ``size * scale``.
        rot: Rotation of the source box in degrees, in the official convention.
        inv: Return the patch-to-source matrix instead.

    Returns:
        The float32 ``(2, 3)`` matrix.
    """
    src_w, src_h = float(size[0]) * scale, float(size[1]) * scale
    rad = np.pi * rot / 180
    c = np.array(center, dtype=np.float32)
    down = _rotate(np.array([0, src_h * 0.5], dtype=np.float32), rad)
    right = _rotate(np.array([src_w * 0.5, 0], dtype=np.float32), rad)
    dst_w, dst_h = out_size
    dc = np.array([dst_w * 0.5, dst_h * 0.5], dtype=np.float32)
    src = np.stack([c, c + down, c + right]).astype(np.float32)
    dst = np.stack([dc, dc + np.array([0, dst_h * 0.5], dtype=np.float32),
                    dc + np.array([dst_w * 0.5, 0], dtype=np.float32)]).astype(np.float32)
    mat = cv2.getAffineTransform(dst, src) if inv else cv2.getAffineTransform(src, dst)
    return mat.astype(np.float32)


def bbox_affine_transforms(bbox: Sequence[float], out_shape: Tuple[int, int],
                           scale: float = 1.0, rot: float = 0.0,
                           ) -> Tuple[np.ndarray, np.ndarray]:
    """Forward and inverse matrices for an xywh box and an ``(H, W)`` crop.

    Args:
        bbox: ``[x, y, w, h]``; the centre is ``(x + w / 2, y + h / 2)``.
        out_shape: Crop size ``(H, W)``.
        scale: Augmentation scale.
        rot: Augmentation rotation in degrees.

    Returns:
        ``(img2bb, bb2img)`` float32 ``(2, 3)`` matrices.
    """
    x, y, w, h = (float(v) for v in bbox[:4])
    center = (x + 0.5 * w, y + 0.5 * h)
    out_size = (int(out_shape[1]), int(out_shape[0]))
    fwd = get_affine_transform(center, (w, h), out_size, scale, rot)
    inv = get_affine_transform(center, (w, h), out_size, scale, rot, inv=True)
    return fwd, inv


def affine_points(points: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Apply a ``(2, 3)`` affine matrix to ``(..., 2)`` points.

    Args:
        points: Points with x, y in the last axis (extra trailing values are not allowed).
        trans: The ``(2, 3)`` matrix.

    Returns:
        Transformed points, same shape, float32 unless the input is float64.
    """
    pts = np.asarray(points)
    dtype = np.float64 if pts.dtype == np.float64 else np.float32
    t = np.asarray(trans, dtype=np.float64)
    out = pts[..., :2].astype(np.float64) @ t[:, :2].T + t[:, 2]
    return out.astype(dtype)
