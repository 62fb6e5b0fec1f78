"""The GLB, read back by an independent glTF evaluator, matches ``smplx`` frame by frame."""

import copy

import numpy as np
import pytest

from smplestx.apis.animation import SMPLX_JOINT_NAMES, pose_corrective_residual
from smplestx.apis.animation.glb import skin_sets, write_glb

#: 0.1 mm: the issue's tolerance; float32 storage and float32 smplx stay far below it.
TOL_M = 1e-4


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


def test_khronos_gltf_validator_reports_nothing(exported, gltf_validator):
    issues = gltf_validator(exported['files']['glb'])
    assert (issues['numErrors'], issues['numWarnings']) == (0, 0), issues['messages']
    assert issues['numInfos'] == 0 and issues['numHints'] == 0, issues['messages']


def test_threejs_poses_like_smplx(exported, body_model_path, smplx_reference, threejs_pose):
    """three.js (GLTFLoader + AnimationMixer + SkinnedMesh) gives smplx's joints and vertices."""
    clip, track = exported['clip'], exported['track']
    keys = _observed(exported)
    posed = threejs_pose(exported['files']['glb'], [k / exported['fps'] for k in keys])
    joints_ref, verts_ref = smplx_reference(body_model_path, track, clip.transl[keys],
                                            posedirs=False)
    for i, frame in enumerate(posed):
        (mesh, ) = frame['meshes'].values()
        joints = np.array([mesh['joints'][name] for name in SMPLX_JOINT_NAMES])
        vertices = np.array(mesh['vertices']).reshape(-1, 3)
        assert np.abs(joints - joints_ref[i]).max() < TOL_M, f'frame {keys[i]}'
        assert np.linalg.norm(vertices - verts_ref[i], axis=1).max() < TOL_M, f'frame {keys[i]}'


def test_many_influences_use_several_sets(exported, body_model_path, tmp_path, gltf_scene,
                                          smplx_reference, gltf_validator):
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
    issues = gltf_validator(path)
    assert (issues['numErrors'], issues['numWarnings']) == (0, 0), issues['messages']
