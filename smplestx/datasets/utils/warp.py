"""The official crop warp, identical under every OpenCV version.

The official code crops with ``cv2.warpAffine(img, trans, (W, H), flags=INTER_LINEAR)`` on a
float32 image. OpenCV 4.x computes each output pixel's source position in fixed point
(:data:`AB_BITS` fractional bits, then rounded to 1/32 px, :data:`INTER_TAB_SIZE`) and
interpolates with the weights of that 1/32 grid; OpenCV 5.0 samples at the exact position
instead, which moves textured crops by up to ~6.6 grey levels. :func:`warp_affine_linear`
computes the 4.x fixed-point positions itself, in the same order of double operations as
OpenCV 4.x's ``WarpAffineInvoker``, and hands them to ``cv2.remap`` in OpenCV's fixed-point
map format (``CV_16SC2`` integer positions plus a ``CV_16UC1`` index into the 32x32 weight
table). That map format is part of ``remap``'s interface in 4.x and 5.x alike, so the crop
equals the official one bit for bit whatever OpenCV is installed
(``tests/test_datasets/test_utils/test_warp.py`` checks it against
``../shared/fixtures/official_preproc`` and against an OpenCV-free re-computation).
"""

from typing import Tuple

import cv2
import numpy as np

#: Fractional bits of OpenCV's fixed-point source coordinates (``MAX(10, INTER_BITS)``).
AB_BITS = 10
#: Fractional bits kept for interpolation: positions are quantised to 1/32 px.
INTER_BITS = 5
#: Sub-pixel positions per pixel (``INTER_TAB_SIZE``).
INTER_TAB_SIZE = 1 << INTER_BITS
_AB_SCALE = 1 << AB_BITS
#: Half a table step, added before truncation so that positions round to the nearest 1/32.
_ROUND_DELTA = _AB_SCALE // INTER_TAB_SIZE // 2
_INT32 = np.iinfo(np.int32)
_INT16 = np.iinfo(np.int16)


def invert_affine(mat: np.ndarray) -> np.ndarray:
    """Invert a ``(2, 3)`` affine matrix in float64 as ``cv2.invertAffineTransform`` does.

    Args:
        mat: Forward matrix (any float dtype; converted to float64 first).

    Returns:
        The float64 ``(2, 3)`` inverse (all zeros for a singular matrix, like OpenCV).
    """
    m = np.asarray(mat, dtype=np.float64).reshape(2, 3)
    det = m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]
    det = 1.0 / det if det != 0 else 0.0
    a11, a22 = m[1, 1] * det, m[0, 0] * det
    a12, a21 = -m[0, 1] * det, -m[1, 0] * det
    b1 = -a11 * m[0, 2] - a12 * m[1, 2]
    b2 = -a21 * m[0, 2] - a22 * m[1, 2]
    return np.array([[a11, a12, b1], [a21, a22, b2]])


def _round_to_int32(values: np.ndarray) -> np.ndarray:
    """``saturate_cast<int>(double)``: round half to even, clamp to int32."""
    return np.clip(np.rint(values), _INT32.min, _INT32.max).astype(np.int64)


def opencv4_affine_maps(mat: np.ndarray, out_size: Tuple[int, int],
                        ) -> Tuple[np.ndarray, np.ndarray]:
    """Fixed-point source positions of OpenCV 4.x's ``warpAffine`` (INTER_LINEAR).

    Args:
        mat: Forward ``(2, 3)`` matrix from source to output pixels (as given to
            ``cv2.warpAffine`` without ``WARP_INVERSE_MAP``).
        out_size: Output size ``(W, H)``.

    Returns:
        ``(xy, table_index)``: ``(H, W, 2)`` int16 integer source positions and
        ``(H, W)`` uint16 indices ``fy * 32 + fx`` of the 1/32 px remainders.
    """
    out_w, out_h = int(out_size[0]), int(out_size[1])
    inv = invert_affine(mat)
    xs = np.arange(out_w, dtype=np.float64)
    ys = np.arange(out_h, dtype=np.float64)
    # Same double expressions as OpenCV: M[0]*x*AB_SCALE and (M[1]*y + M[2])*AB_SCALE.
    adelta = _round_to_int32(inv[0, 0] * xs * _AB_SCALE)
    bdelta = _round_to_int32(inv[1, 0] * xs * _AB_SCALE)
    x0 = _round_to_int32((inv[0, 1] * ys + inv[0, 2]) * _AB_SCALE) + _ROUND_DELTA
    y0 = _round_to_int32((inv[1, 1] * ys + inv[1, 2]) * _AB_SCALE) + _ROUND_DELTA
    shift = AB_BITS - INTER_BITS
    # int32 wrap-around of the sums, then an arithmetic shift, as in OpenCV's C code.
    fx = (x0[:, None] + adelta[None, :]).astype(np.int32) >> shift
    fy = (y0[:, None] + bdelta[None, :]).astype(np.int32) >> shift
    xy = np.stack([np.clip(fx >> INTER_BITS, _INT16.min, _INT16.max),
                   np.clip(fy >> INTER_BITS, _INT16.min, _INT16.max)], axis=-1)
    mask = INTER_TAB_SIZE - 1
    table_index = (fy & mask) * INTER_TAB_SIZE + (fx & mask)
    return xy.astype(np.int16), table_index.astype(np.uint16)


def warp_affine_linear(img: np.ndarray, mat: np.ndarray,
                       out_size: Tuple[int, int]) -> np.ndarray:
    """``cv2.warpAffine(img, mat, out_size, flags=INTER_LINEAR)`` as OpenCV 4.x computes it.

    Bilinear interpolation at 1/32 px positions with a constant zero border, equal bit for
    bit to OpenCV 4.x (and to the official crops) under OpenCV 4.x and 5.x.

    Args:
        img: Source image ``(H, W)`` or ``(H, W, C)``; float32 for the official crop.
        mat: Forward ``(2, 3)`` matrix from source to output pixels.
        out_size: Output size ``(W, H)``.

    Returns:
        The warped image, same dtype and channels as ``img``.
    """
    xy, table_index = opencv4_affine_maps(mat, out_size)
    return cv2.remap(img, xy, table_index, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)
