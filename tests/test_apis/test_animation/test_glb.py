"""The GLB, read back by an independent glTF evaluator, matches ``smplx`` frame by frame."""

import copy
import json
import os.path as osp
import shutil
import subprocess

import numpy as np
import pytest

from smplestx.apis.animation import SMPLX_JOINT_NAMES, pose_corrective_residual
from smplestx.apis.animation.glb import skin_sets, write_glb

#: 0.1 mm: the issue's tolerance; float32 storage and float32 smplx stay far below it.
TOL_M = 1e-4
VALIDATOR_JS = osp.join(osp.dirname(__file__), 'validate_gltf.js')


def _observed(exported):
    """Clip keyframe of each observed track frame."""
    return [int(np.flatnonzero(exported['clip'].frame_index == f)[0]) for f in exported['frames']]


def test_glb_skeleton_and_timing(exported, gltf_scene):
    scene = gltf_scene(exported['files']['glb'])
    skin = scene.gltf.skins[0]
    names = [scene.gltf.nodes[j].name for j in skin.joints]
    assert names[:55] == list(SMPLX_JOINT_NAMES)
    # The stand-in's expression moves head, jaw and eyes: each gets a helper joint.
    assert names[55:] == [f'{n}_expression' for n in
                          ('head', 'jaw', 'left_eye_smplhf', 'right_eye_smplhf')]
    times = scene.accessor(scene.gltf.animations[0].samplers[0].input)[:, 0]
    # 7 keyframes (frames 0..6, the gap at frame 3 filled) at the video's frame rate.
    np.testing.assert_allclose(times, np.arange(7) / exported['fps'], atol=1e-6)
    extras = scene.gltf.scenes[0].extras
    assert extras['fps'] == exported['fps'] and extras['interpolated_frames'] == [3]
    targets = scene.gltf.meshes[0].extras['targetNames']
    assert targets == [f'expression_{k:03d}' for k in range(10)]


def test_glb_matches_smplx_at_every_frame(exported, body_model_path, gltf_scene,
                                          smplx_reference):
    """Joints within 0.1 mm of smplx; vertices within 0.1 mm of smplx without posedirs."""
    clip, track = exported['clip'], exported['track']
    keys = _observed(exported)
    joints_ref, verts_ref = smplx_reference(body_model_path, track, clip.transl[keys],
                                        posedirs=False)
    scene = gltf_scene(exported['files']['glb'])
    for i, key in enumerate(keys):
        joints, vertices = scene.posed(key)
        assert np.abs(joints[:55] - joints_ref[i]).max() < TOL_M, f'frame {key}'
        assert np.linalg.norm(vertices - verts_ref[i], axis=1).max() < TOL_M, f'frame {key}'


def test_glb_fingers_carry_the_hand_mean(exported, gltf_scene):
    """A frame with zero relative hand pose still shows the (curled) SMPL-X hand mean."""
    clip = exported['clip']
    scene = gltf_scene(exported['files']['glb'])
    trs, _ = scene.keyframe_trs(0)
    finger = SMPLX_JOINT_NAMES.index('left_index2')
    hand_joint = finger - SMPLX_JOINT_NAMES.index('left_index1')
    relative = exported['track']['left_hand_pose'][0].reshape(15, 3)[hand_joint]
    mean = clip.rig.hand_mean.reshape(30, 3)[hand_joint]
    assert np.linalg.norm(mean) > 0.1  # the stand-in's hand mean curls this joint
    quat = trs[finger][1]
    angle = 2 * np.arccos(min(1.0, abs(quat[3])))
    assert angle == pytest.approx(np.linalg.norm(relative + mean), abs=1e-5)


def test_pose_corrective_residual_is_measured(exported, body_model_path, gltf_scene,
                                              smplx_reference, shape_space):
    """With posedirs, smplx differs from the GLB by exactly the reported residual."""
    clip, track = exported['clip'], exported['track']
    keys = _observed(exported)
    _, with_pd = smplx_reference(body_model_path, track, clip.transl[keys], posedirs=True)
    scene = gltf_scene(exported['files']['glb'])
    measured = max(np.linalg.norm(scene.posed(k)[1] - with_pd[i], axis=1).max()
                   for i, k in enumerate(keys)) * 1000
    report = pose_corrective_residual(clip, shape_space.layer)
    assert report['max_mm'] > 1.0  # the stand-in has pose correctives
    assert measured <= report['max_mm'] + 0.1


def test_skin_sets_keep_every_nonzero_weight():
    rng = np.random.default_rng(0)
    weights = rng.random((50, 55)) * (rng.random((50, 55)) < 0.15)
    weights[:, 0] += 1e-3
    weights /= weights.sum(axis=1, keepdims=True)
    joints, values = skin_sets(weights)
    assert joints.shape[1] % 4 == 0 and joints.shape[1] >= (weights > 0).sum(1).max()
    back = np.zeros_like(weights)
    np.add.at(back, (np.arange(50)[:, None], joints.astype(int)), values)
    np.testing.assert_allclose(back, weights, atol=1e-7)


#: Pinned npm packages (the Khronos glTF-Validator and three.js), and where ``.ci/run``
#: installs them; otherwise they are installed once into the user cache.
NPM_PACKAGES = ('gltf-validator@2.0.0-dev.3.10', 'three@0.170.0')
NPM_DIRS = (osp.join(osp.dirname(__file__), '..', '..', '..', '.ci', 'npm'),
            osp.expanduser('~/.cache/smplestx/npm'))
THREE_JS = osp.join(osp.dirname(__file__), 'three_pose.mjs')


def _node() -> str:
    node = shutil.which('node')
    if node is None:
        pytest.skip('node is not installed: the glTF-Validator and three.js checks run on node')
    return node


def _npm_modules() -> str:
    """``node_modules`` holding :data:`NPM_PACKAGES`; installed into the cache when missing."""
    names = [p.rsplit('@', 1)[0] for p in NPM_PACKAGES]
    for folder in NPM_DIRS:
        modules = osp.join(osp.abspath(folder), 'node_modules')
        if all(osp.isdir(osp.join(modules, name)) for name in names):
            return modules
    folder = osp.abspath(NPM_DIRS[-1])
    subprocess.run(['npm', 'install', '--prefix', folder, '--no-audit', '--no-fund',
                    *NPM_PACKAGES], check=True, capture_output=True)
    return osp.join(folder, 'node_modules')


def _validate(path: str) -> dict:
    """The validator's ``issues`` report of one file."""
    out = subprocess.run([_node(), VALIDATOR_JS, str(path)], check=True, capture_output=True,
                         text=True, env={'NODE_PATH': _npm_modules()})
    return json.loads(out.stdout)[0]['issues']


def test_khronos_gltf_validator_reports_nothing(exported):
    issues = _validate(exported['files']['glb'])
    assert (issues['numErrors'], issues['numWarnings']) == (0, 0), issues['messages']
    assert issues['numInfos'] == 0 and issues['numHints'] == 0, issues['messages']


def test_threejs_poses_like_smplx(exported, body_model_path, smplx_reference):
    """three.js (GLTFLoader + AnimationMixer + SkinnedMesh) gives smplx's joints and vertices."""
    node = _node()
    clip, track = exported['clip'], exported['track']
    keys = _observed(exported)
    times = [str(k / exported['fps']) for k in keys]
    out = subprocess.run([node, THREE_JS, _npm_modules(), str(exported['files']['glb']),
                          *times], check=True, capture_output=True, text=True)
    posed = json.loads(out.stdout)
    joints_ref, verts_ref = smplx_reference(body_model_path, track, clip.transl[keys],
                                            posedirs=False)
    for i, frame in enumerate(posed):
        joints = np.array([frame['joints'][name] for name in SMPLX_JOINT_NAMES])
        vertices = np.array(frame['vertices']).reshape(-1, 3)
        assert np.abs(joints - joints_ref[i]).max() < TOL_M, f'frame {keys[i]}'
        assert np.linalg.norm(vertices - verts_ref[i], axis=1).max() < TOL_M, f'frame {keys[i]}'


def test_many_influences_use_several_sets(exported, body_model_path, tmp_path, gltf_scene,
                                          smplx_reference):
    """Weights spread to each joint's neighbours (up to 8 per vertex): 2 JOINTS/WEIGHTS sets,
    still valid and still exact against smplx with the same weights."""
    clip = copy.deepcopy(exported['clip'])
    parents = clip.rig.parents
    adjacency = np.eye(55)
    adjacency[np.arange(1, 55), parents[1:]] = adjacency[parents[1:], np.arange(1, 55)] = 1
    spread = clip.rig.weights @ adjacency
    weights = 0.7 * clip.rig.weights + 0.3 * spread / spread.sum(1, keepdims=True)
    clip.rig.weights = weights
    assert (weights > 0).sum(1).max() > 4
    path = str(tmp_path / 'spread.glb')
    write_glb(clip, path)
    scene = gltf_scene(path)
    attributes = vars(scene.gltf.meshes[0].primitives[0].attributes)
    assert {'JOINTS_1', 'WEIGHTS_1'} <= {k for k, v in attributes.items() if v is not None}
    keys = _observed(exported)
    _, verts_ref = smplx_reference(body_model_path, exported['track'], clip.transl[keys],
                                   posedirs=False, lbs_weights=weights)
    for i, key in enumerate(keys[:2]):
        assert np.linalg.norm(scene.posed(key)[1] - verts_ref[i], axis=1).max() < TOL_M
    issues = _validate(path)
    assert (issues['numErrors'], issues['numWarnings']) == (0, 0), issues['messages']
