"""The joints-only SMPL-X forward used for training targets equals the full layer."""

import numpy as np
import pytest
import torch

from smplestx.datasets import HumanDataset
from smplestx.datasets.transforms import AffineCrop, GenerateSMPLXTargets, GetBBox, LoadImage
from smplestx.datasets.transforms.targets import SMPLXJointsOnly


def _random_params(rng, head_yaw):
    pose = dict(global_orient=rng.normal(0, 1, (1, 3)), body_pose=rng.normal(0, 0.4, (21, 3)),
                left_hand_pose=rng.normal(0, 0.4, (15, 3)),
                right_hand_pose=rng.normal(0, 0.4, (15, 3)), jaw_pose=rng.normal(0, 0.2, (1, 3)))
    pose['body_pose'][14] = [0, head_yaw, 0]  # head: selects the dynamic contour row
    pose = {k: v.astype(np.float32) for k, v in pose.items()}
    return (pose, rng.normal(0, 1, 10).astype(np.float32),
            rng.normal(0, 1, 10).astype(np.float32), rng.normal(0, 1, 3).astype(np.float32))


@pytest.mark.parametrize('gender', ['neutral', 'female'])
def test_joints_match_full_layer(body_model_path, gender):
    from smplestx.models.body_models import SMPLXBodyModel
    model = SMPLXBodyModel(str(body_model_path), gender=gender)
    sparse = SMPLXJointsOnly(model.smplx_layer)
    assert sparse.v_template.shape[0] < model.num_vertices // 4
    rng = np.random.default_rng(3)
    for head_yaw in (-0.8, 0.0, 0.5):
        pose, betas, expr, transl = _random_params(rng, head_yaw)
        with torch.no_grad():
            full = model(betas=torch.from_numpy(betas[None]),
                         expression=torch.from_numpy(expr[None]),
                         transl=torch.from_numpy(transl[None]),
                         **{k: torch.from_numpy(v.reshape(1, -1)) for k, v in pose.items()})
        np.testing.assert_allclose(sparse(pose, betas, expr, transl), full['joints'][0].numpy(),
                                   atol=1e-5)


@pytest.mark.parametrize('cam', [{}, dict(R=np.array([[0.96, -0.28, 0], [0.28, 0.96, 0], [0, 0, 1]],
                                                     np.float32), t=np.array([0.1, -0.2, 0.3]))])
def test_training_targets_unchanged(synthetic_humandata, body_model_path, cam):
    """Training targets (joints only) equal those computed from the full mesh forward."""
    path, root = synthetic_humandata
    data = HumanDataset(path, data_prefix=dict(img_path=root), camera_from_meta=True)
    results = data.get_data_info(2)
    results['cam_param'].update(cam)
    results.update(aug_flip=True, aug_rot=20.0, aug_scale=0.9)
    for step in (LoadImage(), GetBBox(ratio=1.2 * 0.833), AffineCrop()):
        results = step(results)
    fast = GenerateSMPLXTargets(str(body_model_path))(dict(results))['gt_instances']
    full = GenerateSMPLXTargets(str(body_model_path), with_mesh=True)(dict(results))
    full = full['gt_instances']
    assert set(fast) == set(full) - {'smplx_mesh_cam'}
    for key, value in fast.items():
        np.testing.assert_allclose(value, full[key], atol=1e-5, err_msg=key)
