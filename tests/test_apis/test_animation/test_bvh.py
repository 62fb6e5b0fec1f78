"""The BVH, parsed and posed by an independent reader (bvhio), matches ``smplx``'s joints."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from smplestx.apis.animation import SMPLX_JOINT_NAMES
from smplestx.apis.animation.bvh import continuous_euler

bvhio = pytest.importorskip('bvhio', reason='bvhio (tests extra) reads BVH independently')

#: 0.1 mm, compared after centimetres -> metres.
TOL_M = 1e-4


def test_bvh_forward_kinematics_matches_smplx(exported, body_model_path, smplx_reference):
    clip, track = exported['clip'], exported['track']
    keys = [int(np.flatnonzero(clip.frame_index == f)[0]) for f in exported['frames']]
    joints_ref, _ = smplx_reference(body_model_path, track, clip.transl[keys])
    root = bvhio.readAsHierarchy(str(exported['files']['bvh']))
    assert sorted(j.Name for j, _, _ in root.layout()) == sorted(SMPLX_JOINT_NAMES)
    for i, key in enumerate(keys):
        root.loadPose(key)
        world = {j.Name: np.array(j.PositionWorld, dtype=np.float64) / 100.0
                 for j, _, _ in root.layout()}
        joints = np.stack([world[name] for name in SMPLX_JOINT_NAMES])
        assert np.abs(joints - joints_ref[i]).max() < TOL_M, f'frame {key}'


def test_bvh_header_frame_rate_and_units(exported):
    text = open(exported['files']['bvh']).read()
    motion = text[text.index('MOTION'):].splitlines()
    assert motion[1] == f'Frames: {exported["clip"].num_frames}'
    assert float(motion[2].split(':')[1]) == pytest.approx(1.0 / exported['fps'])
    assert 'CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation' in text


def test_euler_angles_are_unwrapped_and_exact():
    """A spin past 180 degrees about z keeps increasing; R = Rz Ry Rx is reproduced."""
    angles = np.linspace(0.0, 4 * np.pi, 40)
    spin = Rotation.from_euler('ZYX', np.stack([angles, 0.3 * np.sin(angles),
                                                0.2 * np.cos(angles)], 1)).as_matrix()
    euler = continuous_euler(spin)
    assert np.all(np.abs(np.diff(euler, axis=0)) < 0.5)
    assert euler[-1, 0] == pytest.approx(4 * np.pi, abs=1e-6)
    back = Rotation.from_euler('ZYX', euler).as_matrix()
    np.testing.assert_allclose(back, spin, atol=1e-12)
