import copy

import cv2
import numpy as np
import pytest
import torch

from smplestx.datasets import HumanDataset
from smplestx.datasets.transforms import (
    AffineCrop,
    GenerateSMPLXTargets,
    GetBBox,
    LoadImage,
)
from smplestx.datasets.transforms.targets import rotation_about_z
from smplestx.datasets.utils import flip_keypoints_3d, flip_smplx_params, flip_smplx_pose
from smplestx.datasets.utils.flip import flip_axis_angle, smplx_params_to_pose
from smplestx.structures.keypoint import ROOT_IDX, SMPLX_137_FROM_144, SMPLX_137_PARTS

EYEBALLS = [67, 68]  # HumanData's eyeball order differs from the layer's (kept for parity)


@pytest.fixture(scope='module')
def targets(body_model_path):
    return GenerateSMPLXTargets(str(body_model_path), with_mesh=True)


def _sample(synthetic_humandata, idx=0, **aug):
    path, root = synthetic_humandata
    ds = HumanDataset(path, data_prefix=dict(img_path=root), camera_from_meta=True)
    results = ds.get_data_info(idx)
    results.update(aug)
    for t in (LoadImage(), GetBBox(ratio=1.2 * 0.833), AffineCrop()):
        results = t(results)
    return results


def _layer_joints(body_model_path, params):
    from smplestx.models.body_models import SMPLXBodyModel
    model = SMPLXBodyModel(str(body_model_path))
    with torch.no_grad():
        out = model(**{k: torch.from_numpy(np.asarray(v, np.float32).reshape(1, -1))
                       for k, v in params.items()})
    return out['vertices'][0].numpy(), out['joints'][0].numpy()[list(SMPLX_137_FROM_144)]


def _keep(arr):
    return np.delete(arr, EYEBALLS, axis=0)


@pytest.mark.parametrize('aug', [dict(), dict(aug_flip=True, aug_rot=30.0, aug_scale=1.1)])
def test_keypoint_and_smplx_branches_agree(synthetic_humandata, targets, aug):
    """The synthetic keypoints come from the same SMPL-X layer, so both branches match."""
    results = _sample(synthetic_humandata, 1, **aug)
    raw = results['keypoints_3d'].copy()
    gt = targets(results)['gt_instances']
    assert gt['is_3D'] == 1
    smplx = targets._smplx_targets(results, results['flip'],
                                   rotation_about_z(results['rot']))
    np.testing.assert_allclose(_keep(gt['smplx_joint_cam']), _keep(smplx['joint_cam']),
                               atol=1e-4)
    root_rel = raw - raw[0]
    expected = root_rel @ rotation_about_z(results['rot']).T
    np.testing.assert_allclose(gt['joint_cam'], expected, atol=1e-5)
    # joints of this synthetic person lie inside the crop and in front of the camera
    assert gt['joint_trunc'].mean() > 0.9
    # the SMPL-X branch also bounds the per-part depth, so it can only be stricter
    np.testing.assert_array_equal(smplx['trunc'][:25, None], gt['joint_trunc'][:25])
    assert (_keep(smplx['trunc'][:, None]) <= _keep(gt['joint_trunc'])).all()


def test_pose_target_is_flipped_and_rotated(synthetic_humandata, targets):
    plain = targets(_sample(synthetic_humandata, 0))['gt_instances']
    aug = targets(_sample(synthetic_humandata, 0, aug_flip=True, aug_rot=-25.0))
    gt = aug['gt_instances']
    expected = flip_smplx_pose(plain['smplx_pose'].reshape(53, 3)).copy()
    rmat, _ = cv2.Rodrigues(expected[0].astype(np.float64))
    expected[0] = cv2.Rodrigues(rotation_about_z(-25.0).astype(np.float64) @ rmat)[0][:, 0]
    np.testing.assert_allclose(gt['smplx_pose'].reshape(53, 3), expected, atol=1e-5)
    np.testing.assert_allclose(gt['smplx_shape'], plain['smplx_shape'])
    # the mesh ground truth is never augmented
    np.testing.assert_allclose(gt['smplx_mesh_cam'], plain['smplx_mesh_cam'], atol=1e-6)


def test_flipped_parameters_pose_the_mirrored_body(body_model_path):
    rng = np.random.default_rng(0)
    params = dict(global_orient=rng.normal(0, .3, 3), body_pose=rng.normal(0, .3, (21, 3)),
                  left_hand_pose=rng.normal(0, .3, (15, 3)),
                  right_hand_pose=rng.normal(0, .3, (15, 3)), jaw_pose=rng.normal(0, .2, 3),
                  betas=np.zeros(10), expression=np.zeros(10))
    _, joints = _layer_joints(body_model_path, params)
    _, mirrored = _layer_joints(body_model_path, flip_smplx_params(params))
    expected = flip_keypoints_3d(joints - joints[0])
    # the synthetic template is ~1 cm asymmetric; a wrong flip is off by ~1 m
    np.testing.assert_allclose(mirrored - mirrored[0], expected, atol=0.04)


def test_double_flip_of_parameters_is_identity():
    rng = np.random.default_rng(2)
    params = dict(global_orient=rng.normal(size=3), body_pose=rng.normal(size=(21, 3)),
                  left_hand_pose=rng.normal(size=(15, 3)),
                  right_hand_pose=rng.normal(size=(15, 3)), jaw_pose=rng.normal(size=3),
                  betas=rng.normal(size=10))
    twice = flip_smplx_params(flip_smplx_params(params))
    for key, value in params.items():
        np.testing.assert_array_equal(twice[key], value)
    once = flip_smplx_params(params)
    np.testing.assert_array_equal(once['left_hand_pose'],
                                  flip_axis_angle(params['right_hand_pose']))
    pose = smplx_params_to_pose(params)
    np.testing.assert_array_equal(flip_smplx_pose(flip_smplx_pose(pose)), pose)


def test_axis_angle_flip_is_mirror_conjugation():
    mirror = np.diag([-1.0, 1.0, 1.0])
    vec = np.array([0.3, -1.1, 0.7])
    rmat = cv2.Rodrigues(vec)[0]
    np.testing.assert_allclose(cv2.Rodrigues(flip_axis_angle(vec))[0], mirror @ rmat @ mirror,
                               atol=1e-12)


def test_truncation_bounds_fixed_and_official(synthetic_humandata, body_model_path):
    results = _sample(synthetic_humandata, 0)
    results['keypoints_2d'][3] = [600.0, 100.0]  # right of the 384-pixel crop
    fixed = GenerateSMPLXTargets(str(body_model_path))(dict(results))['gt_instances']
    official = GenerateSMPLXTargets(str(body_model_path), official_trunc_bounds=True)(
        dict(results))['gt_instances']
    assert fixed['joint_trunc'][3] == 0 and official['joint_trunc'][3] == 1
    assert fixed['joint_valid'][3] == 1


def test_samples_without_3d_keypoints(synthetic_humandata, targets):
    results = _sample(synthetic_humandata, 2)
    results['keypoints_3d'] = None
    results['smplx_valid'] = dict(body=True, lhand=False, rhand=True, face=False)
    gt = targets(results)['gt_instances']
    assert gt['is_3D'] == 0 and not gt['joint_cam'].any()
    lhand = list(SMPLX_137_PARTS['lhand'])
    face = list(SMPLX_137_PARTS['face'])
    assert not gt['smplx_joint_valid'][lhand].any() and not gt['smplx_joint_valid'][face].any()
    assert gt['smplx_joint_valid'][:25].all()
    pose_valid = gt['smplx_pose_valid'].reshape(53, 9)
    assert not pose_valid[22:37].any() and not pose_valid[52].any() and pose_valid[:22].all()
    assert gt['smplx_expr_valid'] == 0 and not gt['smplx_expr'].any()
    assert gt['smplx_joint_trunc'][:25].mean() > 0.8


def test_large_betas_are_dropped(synthetic_humandata, targets):
    results = _sample(synthetic_humandata, 0)
    results['smplx_params']['betas'][2] = 3.5
    gt = targets(results)['gt_instances']
    assert not gt['smplx_shape'].any() and gt['smplx_shape_valid'] == 0


def test_hand_roots_follow_the_flip(synthetic_humandata, body_model_path):
    results = _sample(synthetic_humandata, 0, aug_flip=True)
    results['lhand_root'] = np.array([0.1, 0.2, 0.3], np.float32)
    results['rhand_root'] = np.array([0.4, 0.5, 0.6], np.float32)
    gt = GenerateSMPLXTargets(str(body_model_path))(dict(results))['gt_instances']
    np.testing.assert_allclose(gt['lhand_root'], [[0.4, -0.5, -0.6]], atol=1e-6)
    np.testing.assert_allclose(gt['rhand_root'], [[0.1, -0.2, -0.3]], atol=1e-6)
    official = GenerateSMPLXTargets(str(body_model_path), official_hand_root=True)(
        dict(results))['gt_instances']
    np.testing.assert_allclose(official['lhand_root'], [[0.1, 0.2, 0.3]])


def test_mesh_matches_layer_and_camera_rotation(synthetic_humandata, targets, body_model_path):
    results = _sample(synthetic_humandata, 0)
    gt = targets(dict(results))['gt_instances']
    mesh, _ = _layer_joints(body_model_path, results['smplx_params'])
    np.testing.assert_allclose(gt['smplx_mesh_cam'], mesh, atol=1e-5)
    rmat = cv2.Rodrigues(np.array([0.0, 0.3, 0.0]))[0].astype(np.float32)
    results['cam_param'] = dict(R=rmat, t=np.array([0.1, 0, 0], np.float32))
    moved = targets(results)['gt_instances']['smplx_mesh_cam']
    # rotating about the pelvis then translating: inter-vertex distances are kept
    np.testing.assert_allclose(np.linalg.norm(moved[100] - moved[5000]),
                               np.linalg.norm(mesh[100] - mesh[5000]), rtol=1e-4)
    assert not np.allclose(moved, mesh, atol=1e-3)


def test_hand_only_mesh_and_validity(synthetic_humandata, targets):
    results = _sample(synthetic_humandata, 0)
    results.update(hand_only=True, lhand_root=np.array([0.2, 0.1, 0.0], np.float32))
    gt = targets(results)['gt_instances']
    assert gt['lhand_valid'] == 1 and gt['rhand_valid'] == 0


def test_full_pipeline_packs_every_target(synthetic_humandata, body_model_path):
    path, root = synthetic_humandata
    ds = HumanDataset(path, data_prefix=dict(img_path=root), pipeline=[
        dict(type='LoadImage'), dict(type='GetBBox', ratio=1.2 * 0.833),
        dict(type='RandomSMPLXAugment'), dict(type='AffineCrop'),
        dict(type='GenerateSMPLXTargets', body_model_dir=str(body_model_path)),
        dict(type='PackSMPLXInputs')])
    out = ds[0]
    assert out['inputs'].shape == (3, 512, 384)
    gt = out['data_samples'].gt_instances
    shapes = dict(joint_img=(1, 137, 3), joint_cam=(1, 137, 3), smplx_joint_cam=(1, 137, 3),
                  smplx_pose=(1, 159), smplx_shape=(1, 10), smplx_expr=(1, 10),
                  lhand_root=(1, 1, 3), rhand_root=(1, 1, 3), smplx_cam_trans=(1, 3),
                  joint_valid=(1, 137, 1), joint_trunc=(1, 137, 1),
                  smplx_joint_valid=(1, 137, 1), smplx_joint_trunc=(1, 137, 1),
                  smplx_pose_valid=(1, 477), smplx_shape_valid=(1, ), smplx_expr_valid=(1, ),
                  is_3D=(1, ), lhand_valid=(1, ), rhand_valid=(1, ))
    for key, shape in shapes.items():
        assert tuple(gt[key].shape) == shape, key
        assert gt[key].dtype == torch.float32, key


def _smpl_layer_mesh(body_model_path, global_orient, params):
    from smplestx.models.body_models import SMPLBodyModel
    model = SMPLBodyModel(str(body_model_path))
    inputs = dict(params, global_orient=global_orient)
    with torch.no_grad():
        out = model(**{k: torch.from_numpy(np.asarray(v, np.float32).reshape(1, -1))
                       for k, v in inputs.items()})
    return out['vertices'][0].numpy()


def test_smpl_camera_rotation_turns_the_global_orientation(synthetic_humandata, targets,
                                                            body_model_path):
    """The camera rotation of SMPL ground truth goes to the root, not to ``body_pose[0]``."""
    rng = np.random.default_rng(4)
    root = rng.normal(0, 0.3, 3).astype(np.float32)
    params = dict(body_pose=rng.normal(0, 0.3, (23, 3)).astype(np.float32),
                  betas=rng.normal(0, 0.5, 10).astype(np.float32),
                  transl=np.array([0.1, -0.2, 3.0], np.float32))
    results = _sample(synthetic_humandata, 0)
    assert not results['flip'] and results['rot'] == 0
    results.update(body_model_type='smpl', smpl_params=dict(params, global_orient=root))
    results['smplx_params'].update(global_orient=root, body_pose=params['body_pose'][:21])
    plain = targets(copy.deepcopy(results))['gt_instances']
    rmat = cv2.Rodrigues(np.array([0.2, -0.5, 0.3]))[0].astype(np.float32)
    results['cam_param'] = dict(results['cam_param'], R=rmat,
                                t=np.array([0.05, 0.1, -0.2], np.float32))
    gt = targets(copy.deepcopy(results))['gt_instances']
    moved = gt['smpl_mesh_cam']

    # the camera-frame mesh is the world mesh turned by R (and shifted)
    np.testing.assert_allclose(moved - moved.mean(0),
                               (plain['smpl_mesh_cam'] - plain['smpl_mesh_cam'].mean(0))
                               @ rmat.T, atol=2e-5)
    # ... which is the layer posed with the rotated root and the untouched body pose
    turned = cv2.Rodrigues(rmat.astype(np.float64) @ cv2.Rodrigues(root.astype(np.float64))[0]
                           )[0][:, 0]
    layer = _smpl_layer_mesh(body_model_path, turned, params)
    assert np.ptp(moved - layer, axis=0).max() < 2e-5
    # the official placement (rotation merged into the left hip) gives another body
    hip = params['body_pose'].copy()
    hip[0] = cv2.Rodrigues(rmat.astype(np.float64) @ cv2.Rodrigues(
        hip[0].astype(np.float64))[0])[0][:, 0]
    official = _smpl_layer_mesh(body_model_path, root, dict(params, body_pose=hip))
    assert np.abs((official - official.mean(0)) - (moved - moved.mean(0))).max() > 0.05

    # the SMPL-X training targets of the same sample: only the root rotation changes
    pose, plain_pose = gt['smplx_pose'].reshape(53, 3), plain['smplx_pose'].reshape(53, 3)
    np.testing.assert_allclose(pose[0], turned, atol=1e-5)
    np.testing.assert_allclose(plain_pose[0], root, atol=1e-6)
    np.testing.assert_array_equal(pose[1:22], params['body_pose'][:21])
    np.testing.assert_array_equal(pose[1:], plain_pose[1:])


def _invalid_rows(valid):
    return set(np.flatnonzero(np.asarray(valid).reshape(len(valid), -1)[:, 0] == 0).tolist())


def test_nans_left_in_the_targets_are_zeroed_and_invalid(synthetic_humandata, body_model_path):
    """NaNs in keypoints or parameters become zeros *and* invalid (official: zeros, valid)."""
    transform = GenerateSMPLXTargets(str(body_model_path))
    results = _sample(synthetic_humandata, 0)
    results['keypoints_3d'][5, 2] = np.nan
    results['smplx_params']['left_hand_pose'][3, 1] = np.nan
    gt = transform(copy.deepcopy(results))['gt_instances']
    for key, value in gt.items():
        assert np.isfinite(value).all(), key
    # keypoint branch: only the NaN joint
    assert _invalid_rows(gt['joint_valid']) == {5} and gt['joint_trunc'][5] == 0
    assert not gt['joint_cam'][5].any() and not gt['smplx_joint_cam'][5].any()
    # parameter branch: only the NaN rotation (root, 21 body joints, then the left hand)
    nan_rot = 1 + 21 + 3
    assert _invalid_rows(gt['smplx_pose_valid'].reshape(53, 9)) == {nan_rot}
    assert gt['smplx_pose'].reshape(53, 3)[nan_rot, 1] == 0
    assert gt['smplx_shape_valid'] == 1 and gt['smplx_expr_valid'] == 1

    # without 3D keypoints the SMPL-X joints are the targets: the NaN finger makes the joints
    # that depend on it (its children and the vertex-based joints) invalid
    results['keypoints_3d'] = None
    gt = transform(copy.deepcopy(results))['gt_instances']
    params = {k: v for k, v in results['smplx_params'].items() if k != 'transl'}
    _, joints = _layer_joints(body_model_path, params)
    expected = set(np.flatnonzero(~np.isfinite(joints).all(1)).tolist())
    assert ROOT_IDX not in expected and 50 < len(expected) < 137
    assert _invalid_rows(gt['smplx_joint_valid']) == expected
    assert not gt['smplx_joint_trunc'][sorted(expected)].any()
    assert np.isfinite(gt['smplx_joint_cam']).all()


@pytest.mark.parametrize('key', ['betas', 'expression', 'global_orient'])
def test_nan_parameters_are_zeroed_and_invalid(synthetic_humandata, body_model_path, key):
    results = _sample(synthetic_humandata, 0)
    results['keypoints_3d'] = None
    results['smplx_params'][key].reshape(-1)[0] = np.nan
    # a camera rotation must not turn a NaN root into a valid zero one
    results['cam_param'] = dict(results['cam_param'], R=np.eye(3, dtype=np.float32))
    gt = GenerateSMPLXTargets(str(body_model_path))(results)['gt_instances']
    for name, value in gt.items():
        assert np.isfinite(value).all(), name
    pose_valid = gt['smplx_pose_valid'].reshape(53, 9)[:, 0]
    assert pose_valid[0] == (key != 'global_orient') and pose_valid[1:].all()
    assert gt['smplx_shape_valid'] == (key != 'betas')
    assert gt['smplx_expr_valid'] == (key != 'expression')
    assert not gt['smplx_shape'].any() or key != 'betas'
    assert not gt['smplx_expr'].any() or key != 'expression'
    # every joint but the pelvis (at the origin of the root-relative joints) moves with the
    # root rotation; all of them move with the shape and expression blend shapes
    assert _invalid_rows(gt['smplx_joint_valid']) >= set(range(137)) - {ROOT_IDX}
