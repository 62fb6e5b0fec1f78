import numpy as np
import pytest
import torch

from smplestx.models.body_models import SMPLXBodyModel
from smplestx.models.losses import (
    HandRootLoss,
    L1CoordLoss,
    L1ParamLoss,
    SMPLestXLoss,
    chain_global_rotation,
)
from smplestx.models.utils import batch_rodrigues, get_camera_trans, rot6d_to_axis_angle
from smplestx.registry import MODELS
from smplestx.structures.keypoint import SMPLX_BODY_PARENTS

LOSS_KEYS = ('smplx_orient', 'smplx_pose', 'smplx_shape', 'smplx_expr', 'joint_cam',
             'smplx_joint_cam', 'joint_proj', 'hand_root', 'hand_root_chain')


def _group(io, prefix):
    return {k[len(prefix):]: torch.from_numpy(io[k]) for k in io if k.startswith(prefix)}


@pytest.fixture(scope='module')
def batch(official_io, body_model_path):
    """Convert the official raw decoder outputs exactly as the official train mode does."""
    dec = _group(official_io, 'test/intermediate/decoder/')

    def aa(x):
        return rot6d_to_axis_angle(x.reshape(-1, 6)).reshape(x.shape[0], -1)

    pred = dict(root_pose=aa(dec['body_root_pose']), body_pose=aa(dec['body_pose']),
                lhand_pose=aa(dec['lhand_pose']), rhand_pose=aa(dec['rhand_pose']),
                jaw_pose=aa(dec['face_jaw_pose']), lhand_root_pose=aa(dec['lhand_root_pose']),
                rhand_root_pose=aa(dec['rhand_root_pose']), shape=dec['body_betas'],
                expr=dec['face_expression'])
    body_model = SMPLXBodyModel(str(body_model_path))
    coord = body_model.get_coord(pred['root_pose'], pred['body_pose'], pred['lhand_pose'],
                                 pred['rhand_pose'], pred['jaw_pose'], pred['shape'],
                                 pred['expr'], get_camera_trans(dec['body_cam']))
    pred.update({k: coord[k] for k in ('joint_cam', 'joint_cam_wo_ra', 'joint_proj')})
    targets = _group(official_io, 'train/targets/')
    meta_info = _group(official_io, 'train/meta_info/')
    return pred, targets, meta_info


def test_full_loss_matches_official(batch, official_io):
    losses = SMPLestXLoss(official_broadcast=True)(*batch)
    assert set(losses) == {f'loss_{k}' for k in LOSS_KEYS}
    total = 0.0
    for key in LOSS_KEYS:
        expected = float(official_io[f'train/loss_mean/{key}'])
        value = float(losses[f'loss_{key}'])
        assert value == pytest.approx(expected, rel=1e-5), key
        total += value
    assert total == pytest.approx(float(official_io['train/loss_sum']), rel=1e-5)


def test_loss_does_not_modify_inputs(batch):
    pred, targets, meta_info = batch
    keys = (set(pred), set(targets), set(meta_info))
    SMPLestXLoss()(pred, targets, meta_info)
    assert keys == (set(pred), set(targets), set(meta_info))


def test_registry_build_and_weights(batch):
    loss = MODELS.build(dict(type='SMPLestXLoss', pose_weight=20.0, chain_hand_loss=False))
    ref = SMPLestXLoss()(*batch)
    out = loss(*batch)
    assert 'loss_hand_root_chain' not in out
    torch.testing.assert_close(out['loss_smplx_pose'], 2 * ref['loss_smplx_pose'])
    torch.testing.assert_close(out['loss_joint_cam'], ref['loss_joint_cam'])


def test_optional_hand_losses(batch):
    pred, targets, meta_info = batch
    out = SMPLestXLoss(hand_loss=True, hand_kps3d_weight=2.0)(pred, targets, meta_info)
    hand = list(range(25, 65))
    valid = (meta_info['joint_trunc'] * meta_info['is_3D'][:, None, None] *
             meta_info['joint_trunc'][:, :1])[:, hand]
    expected = (torch.abs(pred['joint_cam_wo_ra'][:, hand] - targets['joint_cam'][:, hand]) *
                valid * 2.0).mean()
    torch.testing.assert_close(out['loss_hand_align'], expected)
    expected = (torch.abs(pred['joint_cam'][:, hand] - targets['smplx_joint_cam'][:, hand]) *
                meta_info['joint_trunc'][:, hand] * 2.0).mean()
    torch.testing.assert_close(out['loss_hand_pose'], expected)


def _hand_inputs(batch):
    pred, targets, meta_info = batch
    b = pred['root_pose'].shape[0]
    rotmat = batch_rodrigues(torch.cat([pred[k] for k in ('root_pose', 'body_pose')],
                                       1).reshape(-1, 3)).reshape(b, 22, 3, 3)
    return dict(
        pred_lhand_root=batch_rodrigues(pred['lhand_root_pose']),
        pred_rhand_root=batch_rodrigues(pred['rhand_root_pose']),
        gt_pose_rotmat=batch_rodrigues(targets['smplx_pose'].reshape(b, 53, 3)),
        gt_lhand_root=batch_rodrigues(targets['lhand_root'].reshape(b, 3)),
        gt_rhand_root=batch_rodrigues(targets['rhand_root'].reshape(b, 3)),
        pose_valid=meta_info['smplx_pose_valid'],
        root_trunc=meta_info['joint_trunc'][:, 0, 0],
        pred_body_rotmat=rotmat)


def test_hand_root_unreduced_official_broadcast(batch, official_io):
    out = HandRootLoss(official_broadcast=True, reduction='none')(**_hand_inputs(batch))
    for key in ('hand_root', 'hand_root_chain'):
        assert out[key].shape == (2, 2, 9)
        np.testing.assert_allclose(out[key].numpy(), official_io[f'train/loss/{key}'],
                                   atol=1e-6, rtol=1e-5)


def _reference_global(local, joint):
    """Per-sample loop over all 22 joints (the official algorithm)."""
    result = []
    for sample in local:
        chain = [sample[0]]
        for i in range(1, 22):
            chain.append(chain[SMPLX_BODY_PARENTS[i]] @ sample[i])
        result.append(chain[joint])
    return torch.stack(result)


def test_hand_root_per_sample(batch, official_io):
    inputs = _hand_inputs(batch)
    out = HandRootLoss(reduction='none')(**inputs)
    # independent per-sample computation
    valid = inputs['pose_valid'].reshape(2, 53, 9)
    gt_body = inputs['gt_pose_rotmat'][:, :22]
    expected = {'hand_root': [], 'hand_root_chain': []}
    for b in range(2):
        full_body = bool(inputs['root_trunc'][b] > 0)
        terms = {'hand_root': 0, 'hand_root_chain': 0}
        for wrist, thumb, pred_root, mano in ((20, 34, 'pred_lhand_root', 'gt_lhand_root'),
                                              (21, 49, 'pred_rhand_root', 'gt_rhand_root')):
            if full_body:
                gt, mask = _reference_global(gt_body[b:b + 1], wrist)[0], valid[b, wrist]
            else:
                gt, mask = inputs[mano][b], valid[b, thumb]
            chain = _reference_global(inputs['pred_body_rotmat'][b:b + 1], wrist)[0]
            terms['hand_root'] += torch.abs(gt - inputs[pred_root][b]).reshape(9) * mask
            terms['hand_root_chain'] += torch.abs(gt - chain).reshape(9) * mask
        for key in terms:
            expected[key].append(terms[key])
    for key in expected:
        torch.testing.assert_close(out[key], torch.stack(expected[key]), atol=1e-6, rtol=1e-5)
        # the correct per-sample loss is the diagonal of the official (B, B, 9) tensor
        official = official_io[f'train/loss/{key}']
        np.testing.assert_allclose(out[key].numpy(), official[[0, 1], [0, 1]], atol=1e-6,
                                   rtol=1e-5)
    means = HandRootLoss()(**inputs)
    full = SMPLestXLoss()(*batch)
    for key in expected:
        torch.testing.assert_close(full[f'loss_{key}'], means[key])
        torch.testing.assert_close(means[key], torch.stack(expected[key]).mean())


def test_chain_rotation_vectorised_and_detached():
    torch.manual_seed(0)
    local = batch_rodrigues(torch.randn(4, 22, 3)).requires_grad_(True)
    for joint in (20, 21, 15):
        torch.testing.assert_close(chain_global_rotation(local, joint),
                                   _reference_global(local.detach(), joint))
    chain_global_rotation(local, 20).sum().backward()
    assert local.grad[:, 0].abs().sum() == 0  # root detached
    assert local.grad[:, 18].abs().sum() > 0  # L_Elbow on the chain
    assert local.grad[:, 19].abs().sum() == 0  # R_Elbow off the chain


def test_l1_losses_reduction():
    pred, target = torch.ones(2, 3, 2), torch.zeros(2, 3, 2)
    valid = torch.tensor([[[1.0], [0.0], [1.0]], [[0.0], [0.0], [0.0]]])
    assert L1CoordLoss(loss_weight=3.0)(pred, target, valid).item() == pytest.approx(1.0)
    unreduced = L1CoordLoss(reduction='none')(pred, target, valid)
    assert unreduced.shape == (2, 3, 2) and unreduced.sum() == 4
    assert L1ParamLoss()(torch.ones(2, 4), torch.zeros(2, 4),
                         torch.tensor([[1.0], [0.0]])).item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match='reduction'):
        L1ParamLoss(reduction='sum')
    with pytest.raises(ValueError, match='pred_body_rotmat'):
        HandRootLoss()(*(torch.zeros(1, 3, 3), ) * 2, torch.zeros(1, 53, 3, 3),
                       *(torch.zeros(1, 3, 3), ) * 2, torch.ones(1, 477), torch.ones(1))


def test_losses_backpropagate(batch):
    pred, targets, meta_info = batch
    pred = {k: v.detach().clone().requires_grad_(True) for k, v in pred.items()}
    losses = SMPLestXLoss()(pred, targets, meta_info)
    sum(losses.values()).backward()
    for key in ('root_pose', 'body_pose', 'lhand_root_pose', 'shape', 'joint_proj'):
        assert pred[key].grad is not None and torch.isfinite(pred[key].grad).all(), key
