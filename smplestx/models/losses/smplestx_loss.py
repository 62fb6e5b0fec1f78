"""The composite training loss of SMPLest-X (spec §6).

Expected inputs (official key names, batch size B, J = 137 supervision joints):

``pred`` (model outputs in train mode):
    ``root_pose`` (B, 3), ``body_pose`` (B, 63), ``lhand_pose`` (B, 45), ``rhand_pose``
    (B, 45), ``jaw_pose`` (B, 3): axis-angle, as converted from the 6D outputs;
    ``lhand_root_pose``, ``rhand_root_pose`` (B, 3): axis-angle hand global orientation;
    ``shape`` (B, 10), ``expr`` (B, 10); ``joint_cam_wo_ra`` (B, J, 3) pelvis-relative joints,
    ``joint_cam`` (B, J, 3) part-relative joints, ``joint_proj`` (B, J, 2) in heatmap units
    (all three from :meth:`SMPLXBodyModel.get_coord`).

``targets``:
    ``joint_img`` (B, J, 3) heatmap-unit keypoints (x, y used), ``joint_cam`` (B, J, 3)
    pelvis-relative, ``smplx_joint_cam`` (B, J, 3) part-relative, ``smplx_pose`` (B, 159)
    axis-angle in the 53-joint order, ``smplx_shape`` (B, 10), ``smplx_expr`` (B, 10),
    ``lhand_root``/``rhand_root`` (B, 1, 3) MANO hand orientation.

``meta_info``:
    ``joint_trunc`` (B, J, 1), ``smplx_pose_valid`` (B, 477), ``smplx_shape_valid`` (B,),
    ``smplx_expr_valid`` (B,), ``is_3D`` (B,).
"""

from typing import Dict

import torch
import torch.nn as nn

from smplestx.registry import MODELS
from smplestx.structures.keypoint.smplx_conventions import (
    ROOT_IDX,
    SMPLX_137_PARTS,
    SMPLX_BODY_PARENTS,
)

from ..utils.rotation import batch_rodrigues
from .hand_root_loss import HandRootLoss
from .l1_loss import L1CoordLoss, L1ParamLoss

__all__ = ['SMPLestXLoss']

_POSE_KEYS = ('root_pose', 'body_pose', 'lhand_pose', 'rhand_pose', 'jaw_pose')


def _aa_to_flat_rotmat(axis_angle: torch.Tensor) -> torch.Tensor:
    """(B, 3K) axis-angle -> (B, 9K) row-major rotation matrices."""
    batch_size = axis_angle.shape[0]
    return batch_rodrigues(axis_angle.reshape(-1, 3)).reshape(batch_size, -1)


@MODELS.register_module()
class SMPLestXLoss(nn.Module):
    """All SMPLest-X training losses, with the official weights as defaults.

    Every term is an unreduced masked L1, weighted, then averaged over all of its elements
    (masked zeros included), exactly like ``main/train.py``.

    Args:
        kps3d_weight: ``smplx_kps_3d_weight`` for ``joint_cam`` and ``smplx_joint_cam``.
        kps2d_weight: ``smplx_kps_2d_weight`` for ``joint_proj``.
        pose_weight: ``smplx_pose_weight`` for all 53 rotations.
        shape_weight: ``smplx_shape_weight``.
        orient_weight: ``smplx_orient_weight`` for the root rotation (counted again in pose).
        expr_weight: Expression weight (the official code has no key: 1).
        hand_root_weight: Weight of the two hand-orientation terms.
        chain_hand_loss: Compute ``hand_root_chain`` (official ``not no_chain_hand_loss``).
        official_broadcast: Reproduce the official (B, B, 9) hand-root mask broadcast.
        hand_loss: Add ``hand_align``/``hand_pose`` (hand subsets of the 3D joint losses).
        hand_kps3d_weight: ``smplx_hand_kps_3d_weight`` of those optional terms.
    """

    def __init__(self,
                 kps3d_weight: float = 100.0,
                 kps2d_weight: float = 1.0,
                 pose_weight: float = 10.0,
                 shape_weight: float = 1.0,
                 orient_weight: float = 1.0,
                 expr_weight: float = 1.0,
                 hand_root_weight: float = 1.0,
                 chain_hand_loss: bool = True,
                 official_broadcast: bool = False,
                 hand_loss: bool = False,
                 hand_kps3d_weight: float = 1.0) -> None:
        super().__init__()
        self.orient_loss = L1ParamLoss(orient_weight, reduction='none')
        self.pose_loss = L1ParamLoss(pose_weight)
        self.shape_loss = L1ParamLoss(shape_weight)
        self.expr_loss = L1ParamLoss(expr_weight)
        self.joint_cam_loss = L1CoordLoss(kps3d_weight)
        self.smplx_joint_cam_loss = L1CoordLoss(kps3d_weight)
        self.joint_proj_loss = L1CoordLoss(kps2d_weight)
        self.hand_loss = hand_loss
        if hand_loss:
            self.hand_align_loss = L1CoordLoss(hand_kps3d_weight)
            self.hand_pose_loss = L1CoordLoss(hand_kps3d_weight)
        self.hand_root_loss = HandRootLoss(hand_root_weight, use_chain=chain_hand_loss,
                                           official_broadcast=official_broadcast)

    def forward(self, pred: Dict[str, torch.Tensor], targets: Dict[str, torch.Tensor],
                meta_info: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Compute every loss term.

        Args:
            pred: Model outputs (see the module docstring).
            targets: Ground truth (official key names).
            meta_info: Validity and truncation masks (official key names).

        Returns:
            Scalar losses ``loss_smplx_orient``, ``loss_smplx_pose``, ``loss_smplx_shape``,
            ``loss_smplx_expr``, ``loss_joint_cam``, ``loss_smplx_joint_cam``,
            ``loss_joint_proj``, ``loss_hand_root`` and, when enabled,
            ``loss_hand_root_chain``, ``loss_hand_align``, ``loss_hand_pose``.
        """
        batch_size = pred['root_pose'].shape[0]
        pose_rotmat = torch.cat([_aa_to_flat_rotmat(pred[k]) for k in _POSE_KEYS], dim=1)
        gt_pose_rotmat = _aa_to_flat_rotmat(targets['smplx_pose'])
        pose_valid = meta_info['smplx_pose_valid']
        joint_trunc = meta_info['joint_trunc']
        root_trunc = joint_trunc[:, ROOT_IDX, :][:, None]  # (B, 1, 1)
        is_3d = meta_info['is_3D'].reshape(batch_size, 1, 1)

        losses = {}
        losses['loss_smplx_orient'] = self.orient_loss(pose_rotmat, gt_pose_rotmat,
                                                       pose_valid)[:, :9].mean()
        losses['loss_smplx_pose'] = self.pose_loss(pose_rotmat, gt_pose_rotmat, pose_valid)
        losses['loss_smplx_shape'] = self.shape_loss(
            pred['shape'], targets['smplx_shape'], meta_info['smplx_shape_valid'][:, None])
        losses['loss_smplx_expr'] = self.expr_loss(
            pred['expr'], targets['smplx_expr'], meta_info['smplx_expr_valid'][:, None])

        joint_cam_valid = joint_trunc * is_3d * root_trunc
        losses['loss_joint_cam'] = self.joint_cam_loss(pred['joint_cam_wo_ra'],
                                                        targets['joint_cam'], joint_cam_valid)
        hand_idx = list(SMPLX_137_PARTS['hand'])
        if self.hand_loss:
            losses['loss_hand_align'] = self.hand_align_loss(
                pred['joint_cam_wo_ra'][:, hand_idx], targets['joint_cam'][:, hand_idx],
                joint_cam_valid[:, hand_idx])
        losses['loss_smplx_joint_cam'] = self.smplx_joint_cam_loss(
            pred['joint_cam'], targets['smplx_joint_cam'], joint_trunc)
        if self.hand_loss:
            losses['loss_hand_pose'] = self.hand_pose_loss(pred['joint_cam'][:, hand_idx],
                                                           targets['smplx_joint_cam'][:, hand_idx],
                                                           joint_trunc[:, hand_idx])
        losses['loss_joint_proj'] = self.joint_proj_loss(pred['joint_proj'][..., :2],
                                                         targets['joint_img'][..., :2],
                                                         joint_trunc)

        num_body = len(SMPLX_BODY_PARENTS)
        hand_terms = self.hand_root_loss(
            pred_lhand_root=batch_rodrigues(pred['lhand_root_pose'].reshape(batch_size, 3)),
            pred_rhand_root=batch_rodrigues(pred['rhand_root_pose'].reshape(batch_size, 3)),
            gt_pose_rotmat=gt_pose_rotmat,
            gt_lhand_root=batch_rodrigues(targets['lhand_root'].reshape(batch_size, 3)),
            gt_rhand_root=batch_rodrigues(targets['rhand_root'].reshape(batch_size, 3)),
            pose_valid=pose_valid,
            root_trunc=joint_trunc[:, ROOT_IDX, 0],
            pred_body_rotmat=pose_rotmat[:, :num_body * 9].reshape(batch_size, num_body, 3, 3),
        )
        for key, value in hand_terms.items():
            losses[f'loss_{key}'] = value
        return losses
