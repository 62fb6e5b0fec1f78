"""Optional: Blender (``bpy``) imports the GLB and BVH upright, at the video's frame rate,
with the predicted finger curl. Runs when ``$SMPLESTX_BPY_PYTHON`` names a Python that has
``bpy`` (821 MB installed, so CI does not install it; see docs/animation.md)."""

import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from smplestx.apis.animation import SMPLX_JOINT_NAMES

SCRIPT = osp.join(osp.dirname(__file__), '..', '..', '..', 'tools', 'misc', 'blender_check.py')


def _bpy_python():
    python = os.environ.get('SMPLESTX_BPY_PYTHON')
    if python:
        return python
    if importlib.util.find_spec('bpy') is not None:
        return sys.executable
    pytest.skip('bpy (Blender as a Python module) is not installed: set SMPLESTX_BPY_PYTHON '
                'to a Python with `pip install bpy` to run the Blender check')


def test_blender_imports_upright_at_video_fps_with_curled_fingers(exported, tmp_path):
    python = _bpy_python()
    files, clip = exported['files'], exported['clip']
    out = tmp_path / 'report.json'
    subprocess.run([python, SCRIPT, '--glb', files['glb'], '--bvh', files['bvh'], '--fps',
                    str(exported['fps']), '--out', str(out)], check=True, capture_output=True,
                   timeout=300)
    report = json.loads(out.read_text())
    first = SMPLX_JOINT_NAMES.index('left_index1')
    predicted = np.degrees(np.linalg.norm(Rotation.from_matrix(
        clip.rotations[:, first:].reshape(-1, 3, 3)).as_rotvec(), axis=1)).reshape(
            clip.num_frames, 30)
    for kind in ('glb', 'bvh'):
        seen = report[kind]
        assert seen['scene_fps'] == pytest.approx(exported['fps'], abs=0.5)
        assert np.all(np.diff(seen['keyframes']) == 1) and len(seen['keyframes']) == 7
        head, feet = np.array(seen['head_z']), np.minimum(seen['left_foot_z'],
                                                          seen['right_foot_z'])
        assert np.all(head - feet > 1.0), kind  # upright along Blender's Z
        fingers = np.array([[frame[name] for name in SMPLX_JOINT_NAMES[first:]]
                            for frame in seen['fingers_deg']])
        np.testing.assert_allclose(fingers, predicted, atol=0.05)
        assert fingers.mean() > 5.0  # curled (the hand mean is in), not flat


def test_blender_plays_the_scene_in_sync(scene_exported, tmp_path):
    """Blender imports ``scene.glb``: each person's bones keep their prefixed names, and its
    deformed mesh is upright in its own frames (glTF time t at Blender frame t * fps) and
    collapsed to a point outside them."""
    python = _bpy_python()
    out = tmp_path / 'scene.json'
    subprocess.run([python, SCRIPT, '--scene', scene_exported['scene'], '--fps',
                    str(scene_exported['fps']), '--last-frame', str(scene_exported['last']),
                    '--out', str(out)], check=True, capture_output=True, timeout=300)
    report = json.loads(out.read_text())['scene']
    assert report['scene_fps'] == pytest.approx(scene_exported['fps'], abs=0.5)
    assert sorted(report['people']) == sorted(scene_exported['frames'])
    for name, frames in scene_exported['frames'].items():
        seen = report['people'][name]
        assert seen['bones'] == 59  # 55 joints + 4 expression helpers, named <name>_<joint>
        inside = np.zeros(scene_exported['last'] + 1, dtype=bool)
        inside[frames[0]:frames[-1] + 1] = True
        extent, height = np.array(seen['mesh_extent']), np.array(seen['head_minus_foot'])
        assert np.all(extent[inside] > 0.5) and np.all(height[inside] > 1.0), name
        assert np.all(extent[~inside] < 1e-5), name
