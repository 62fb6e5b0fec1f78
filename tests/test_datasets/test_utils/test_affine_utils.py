import cv2
import numpy as np
import pytest

from smplestx.datasets.utils.affine import (
    affine_points,
    bbox_affine_transforms,
    get_affine_transform,
)


def _spec_three_points(cx, cy, w, h, out_w, out_h, scale, rot):
    """§5.5: centre, centre + rotated (0, h*s/2), centre + rotated (w*s/2, 0) -> the crop."""
    r = np.deg2rad(rot)
    rotm = np.array([[np.cos(r), -np.sin(r)], [np.sin(r), np.cos(r)]])
    c = np.array([cx, cy])
    src = np.stack([c, c + rotm @ [0, h * scale / 2], c + rotm @ [w * scale / 2, 0]])
    dst = np.array([[out_w / 2, out_h / 2], [out_w / 2, out_h], [out_w, out_h / 2]])
    return src.astype(np.float32), dst.astype(np.float32)


@pytest.mark.parametrize('scale,rot', [(1.0, 0.0), (1.2, 30.0), (0.8, -45.0)])
def test_matches_three_point_definition(scale, rot):
    mat = get_affine_transform((200.5, 300.25), (150, 200), (384, 512), scale, rot)
    src, dst = _spec_three_points(200.5, 300.25, 150, 200, 384, 512, scale, rot)
    assert mat.dtype == np.float32 and mat.shape == (2, 3)
    np.testing.assert_allclose(affine_points(src, mat), dst, atol=1e-3)
    ref = cv2.getAffineTransform(src, dst).astype(np.float32)
    np.testing.assert_allclose(mat, ref, rtol=1e-5, atol=1e-4)


def test_no_rotation_is_scale_and_translation():
    fwd, inv = bbox_affine_transforms([100, 40, 192, 256], (512, 384))
    np.testing.assert_allclose(fwd, [[2, 0, -200], [0, 2, -80]], atol=1e-4)
    np.testing.assert_allclose(inv, [[0.5, 0, 100], [0, 0.5, 40]], atol=1e-5)


def test_inverse_round_trip():
    fwd, inv = bbox_affine_transforms([33.3, 12.1, 120, 160], (512, 384), 1.1, 25.0)
    pts = np.random.default_rng(0).uniform(0, 300, (20, 2))
    back = affine_points(affine_points(pts.astype(np.float64), fwd), inv)
    np.testing.assert_allclose(back, pts, atol=1e-3)
