"""The root trajectory in one video camera: formula, defaults, and a synthetic walk."""

import math

import numpy as np
import pytest

from smplestx.apis.animation import VideoCamera, clip_from_track
from smplestx.apis.animation.trajectory import fit_translation, project, video_frame_transl
from smplestx.testing.motion import synthetic_track
from smplestx.utils.io import atomic_write_npz


def test_video_camera_defaults_and_fov():
    cam = VideoCamera.from_image((640, 480))
    assert cam.focal == pytest.approx(800.0)  # the diagonal
    assert cam.principal_point == (320.0, 240.0)
    assert VideoCamera.from_image((640, 480), fov=90.0).focal == pytest.approx(320.0)
    assert cam.yfov == pytest.approx(2 * math.atan(240 / 800))
    with pytest.raises(ValueError, match='not both'):
        VideoCamera.from_image((640, 480), fov=60.0, focal=500.0)


def test_same_camera_is_identity_and_flat_body_is_exact():
    """Own camera: unchanged. A flat (fronto-parallel) body in a crop camera with focal
    F = k f and centre c maps exactly to depth Z / k and x + (c - p) Z' / f."""
    rng = np.random.default_rng(0)
    joints = rng.normal(0, 0.3, (3, 22, 3))
    transl = np.array([[0.1, 0.2, 4.0], [-0.5, 0.1, 6.0], [0.3, -0.2, 3.0]])
    cam = VideoCamera.from_image((640, 480), focal=900.0)
    same = video_frame_transl(transl, np.full((3, 2), 900.0), np.tile([320.0, 240.0], (3, 1)),
                              joints, joints, cam)
    np.testing.assert_allclose(same, transl, atol=1e-9)
    flat = joints * [1.0, 1.0, 0.0]
    k, centre = 12.5, np.array([300.0, 200.0])
    crop = transl * [1.0, 1.0, k]
    out = video_frame_transl(crop, np.full((3, 2), 900.0 * k), np.tile(centre, (3, 1)), flat,
                             flat, cam)
    np.testing.assert_allclose(out[:, 2], transl[:, 2], rtol=1e-12)
    shift = (centre - [320.0, 240.0]) * transl[:, 2:] / 900.0
    np.testing.assert_allclose(out[:, :2], transl[:, :2] + shift, atol=1e-12)


def test_fit_translation_recovers_a_known_translation():
    rng = np.random.default_rng(1)
    joints = rng.normal(0, 0.3, (2, 22, 3))
    truth = np.array([[0.4, -0.1, 5.0], [-1.0, 0.3, 8.0]])
    focal, centre = np.full((2, 2), 1000.0), np.tile([400.0, 300.0], (2, 1))
    pixels = project(joints + truth[:, None], focal, centre)
    np.testing.assert_allclose(fit_translation(joints, pixels, focal, centre), truth, atol=1e-9)


def test_synthetic_walk_through_changing_boxes(tmp_path, body_model_path, shape_space):
    """Root within 1 cm of the truth; no jump where the box grows by 40 %."""
    track, truth = synthetic_track(str(body_model_path), num_frames=10, video_focal=700.0)
    path = tmp_path / 'tracks' / 'track_0000.npz'
    atomic_write_npz(path, track)
    clip = clip_from_track(str(path), shape_space, focal=700.0)
    pelvis = clip.rest_joints()[:, 0] + clip.transl
    error = pelvis - truth['pelvis']
    assert np.linalg.norm(error, axis=1).max() < 0.01
    change = int(np.flatnonzero(np.diff(truth['box_scale']))[0]) + 1
    step = np.linalg.norm(error[change] - error[change - 1])
    assert step < 0.002
    # The per-frame crop cameras do jump there: their depth grows with the box.
    depth = track['transl'][:, 2]
    assert depth[change] / depth[change - 1] > 1.2
