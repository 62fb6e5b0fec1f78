"""The OpenCV-4 crop warp: cv2.remap with fixed-point maps against an OpenCV-free oracle."""

import cv2
import numpy as np
import pytest

from smplestx.datasets.utils.warp import (
    INTER_TAB_SIZE,
    invert_affine,
    opencv4_affine_maps,
    warp_affine_linear,
)


def _bilinear_oracle(img, mat, out_size):
    """OpenCV 4.x's fixed-point INTER_LINEAR warp written out in numpy (no cv2 call).

    Source positions are the maps' integer part plus a remainder in 1/32 px; the weights are
    products of ``1 - k/32`` and ``k/32`` in float32, summed in OpenCV's order (top-left,
    top-right, bottom-left, bottom-right); neighbours outside the image count as 0.
    """
    xy, index = opencv4_affine_maps(mat, out_size)
    sx, sy = xy[..., 0].astype(np.int64), xy[..., 1].astype(np.int64)
    fx = (index % INTER_TAB_SIZE).astype(np.float32) / np.float32(INTER_TAB_SIZE)
    fy = (index // INTER_TAB_SIZE).astype(np.float32) / np.float32(INTER_TAB_SIZE)
    wx = (np.float32(1) - fx, fx)
    wy = (np.float32(1) - fy, fy)
    h, w = img.shape[:2]
    out = np.zeros(sx.shape + img.shape[2:], np.float32)
    for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1)):
        px, py = sx + dx, sy + dy
        inside = (px >= 0) & (px < w) & (py >= 0) & (py < h)
        vals = img[np.where(inside, py, 0), np.where(inside, px, 0)].astype(np.float32)
        vals[~inside] = 0
        weight = wy[dy] * wx[dx]
        out += vals * (weight[..., None] if img.ndim == 3 else weight)
    return out


@pytest.mark.parametrize('seed', range(6))
def test_remap_path_equals_numpy_oracle(seed):
    rng = np.random.default_rng(seed)
    img = rng.uniform(0, 255, (37, 53, 3)).astype(np.float32)
    mat = np.array([[rng.uniform(-2, 2), rng.uniform(-2, 2), rng.uniform(-60, 60)],
                    [rng.uniform(-2, 2), rng.uniform(-2, 2), rng.uniform(-60, 60)]],
                   np.float32)
    np.testing.assert_array_equal(warp_affine_linear(img, mat, (41, 29)),
                                  _bilinear_oracle(img, mat, (41, 29)))


def test_positions_are_quantised_to_a_32nd_pixel():
    # A horizontal ramp sampled at x + 0.3: OpenCV 4.x reads it at round(0.3 * 32) / 32.
    img = np.tile(np.arange(20, dtype=np.float32) * 32, (5, 1))
    mat = np.array([[1, 0, -0.3], [0, 1, 0]], np.float32)  # output x = source x - 0.3
    out = warp_affine_linear(img, mat, (10, 5))
    np.testing.assert_array_equal(out[2, :8], (np.arange(8) * 32 + 10).astype(np.float32))


def test_border_is_zero_and_grey_image_stays_grey_inside():
    img = np.full((20, 30, 3), 100.0, np.float32)
    mat = np.array([[1, 0, 5], [0, 1, 5]], np.float32)  # shift right/down by 5 px
    out = warp_affine_linear(img, mat, (40, 30))
    np.testing.assert_array_equal(out[:5], 0)
    np.testing.assert_array_equal(out[5:24, 5:34], 100)


def test_inverse_matches_opencv_and_singular_gives_zeros():
    mat = np.array([[1.5, 0.2, 10.0], [-0.3, 0.8, -4.0]], np.float32)
    np.testing.assert_allclose(invert_affine(mat), cv2.invertAffineTransform(
        mat.astype(np.float64)), rtol=0, atol=1e-12)
    assert not invert_affine(np.zeros((2, 3))).any()


def test_uint8_and_single_channel_images():
    rng = np.random.default_rng(7)
    mat = np.array([[0.9, 0.1, 3.0], [-0.1, 1.1, 2.0]], np.float32)
    gray = rng.uniform(0, 255, (25, 25)).astype(np.float32)
    np.testing.assert_array_equal(warp_affine_linear(gray, mat, (20, 20)),
                                  _bilinear_oracle(gray, mat, (20, 20)))
    assert warp_affine_linear(gray.astype(np.uint8), mat, (20, 20)).dtype == np.uint8


@pytest.mark.parametrize('case', ['inside', 'overlapping', 'rotated', 'outside', 'zoom-in'])
@pytest.mark.parametrize('flip', [False, True])
def test_windowed_warp_equals_the_whole_frame_warp(case, flip):
    """Only the sampled window is converted and mirrored: the crop is unchanged, bit for bit
    (the reference converts and mirrors the whole frame, as the official code does)."""
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    scale, angle, (cx, cy) = {'inside': (0.5, 0, (160, 120)), 'overlapping': (0.6, 0, (20, 230)),
                              'rotated': (0.7, 37, (100, 80)), 'outside': (0.5, 0, (900, 900)),
                              'zoom-in': (4.0, -12, (310, 5))}[case]
    mat = cv2.getRotationMatrix2D((cx, cy), angle, scale).astype(np.float32)
    mat[:, 2] += (48 - cx, 64 - cy)  # the box centre to the crop centre
    whole = frame.astype(np.float32)
    if flip:
        whole = cv2.flip(whole, 1)
    expected = _bilinear_oracle(whole, mat, (96, 128))
    got = warp_affine_linear(frame, mat, (96, 128), flip=flip, dtype=np.float32)
    assert got.dtype == np.float32 and got.shape == (128, 96, 3)
    np.testing.assert_array_equal(got, expected)
    assert (case == 'outside') == (not got.any())
