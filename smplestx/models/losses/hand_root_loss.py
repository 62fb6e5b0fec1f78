"""Hand global-orientation losses of SMPLest-X (spec §6).

Two terms supervise the global orientation of each hand (the wrist rotation in the camera
frame), as 3x3 rotation matrices:

* ``hand_root``: the hand-root head's prediction;
* ``hand_root_chain`` (wrist consistency): the rotation composed along the **predicted** body
  kinematic chain (pelvis detached, as the official code does).

Both are compared with the ground-truth wrist rotation composed along the GT body chain for
full-body samples (pelvis not truncated; masked by the GT wrist-rotation validity), and with
the MANO global orientation for hand-only samples (pelvis truncated; masked by the validity of
the thumb-1 rotation).

The official code multiplies a (B, 9) loss by a (B, 1, 1) pelvis mask, which broadcasts to
(B, B, 9) and mixes samples; ``official_broadcast=True`` reproduces that for parity, the default
applies the mask per sample.
"""

from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn

from smplestx.registry import MODELS
from smplestx.structures.keypoint.smplx_conventions import (
    ROT53_LTHUMB1_IDX,
    ROT53_LWRIST_IDX,
    ROT53_RTHUMB1_IDX,
    ROT53_RWRIST_IDX,
    SMPLX_BODY_PARENTS,
)

from .l1_loss import masked_l1

__all__ = ['chain_global_rotation', 'HandRootLoss']


def chain_global_rotation(local_rotmat: torch.Tensor,
                          joint_idx: int,
                          parents: Sequence[int] = SMPLX_BODY_PARENTS,
                          detach_root: bool = True) -> torch.Tensor:
    """Compose local rotations along the kinematic chain from the root to one joint.

    ``G[j] = G[parent[j]] @ R[j]``, vectorised over the batch.

    Args:
        local_rotmat: (B, J, 3, 3) local joint rotations (J >= the joints on the chain).
        joint_idx: The joint whose global rotation is wanted.
        parents: Parent index of each joint (-1 for the root).
        detach_root: Stop gradients through the root rotation (official behaviour).

    Returns:
        (B, 3, 3) global rotation of ``joint_idx``.
    """
    chain = []
    joint = joint_idx
    while joint >= 0:
        chain.append(joint)
        joint = parents[joint]
    chain.reverse()
    rot = local_rotmat[:, chain[0]]
    if detach_root:
        rot = rot.detach()
    for joint in chain[1:]:
        rot = torch.matmul(rot, local_rotmat[:, joint])
    return rot


def _flat9(rotmat: torch.Tensor) -> torch.Tensor:
    return rotmat.reshape(rotmat.shape[0], 9)


@MODELS.register_module()
class HandRootLoss(nn.Module):
    """Hand global-orientation and wrist-consistency losses.

    Args:
        loss_weight: Weight of both terms (``hand_root_weight``).
        use_chain: Also compute the kinematic-chain term (``hand_root_chain``).
        official_broadcast: Reproduce the official (B, B, 9) mask broadcast.
        reduction: ``'mean'`` over all elements (official) or ``'none'``.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 use_chain: bool = True,
                 official_broadcast: bool = False,
                 reduction: str = 'mean') -> None:
        super().__init__()
        if reduction not in ('mean', 'none'):
            raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
        self.loss_weight = loss_weight
        self.use_chain = use_chain
        self.official_broadcast = official_broadcast
        self.reduction = reduction

    def forward(self,
                pred_lhand_root: torch.Tensor,
                pred_rhand_root: torch.Tensor,
                gt_pose_rotmat: torch.Tensor,
                gt_lhand_root: torch.Tensor,
                gt_rhand_root: torch.Tensor,
                pose_valid: torch.Tensor,
                root_trunc: torch.Tensor,
                pred_body_rotmat: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Compute the losses.

        Args:
            pred_lhand_root: (B, 3, 3) or (B, 9) predicted left-hand global rotation.
            pred_rhand_root: (B, 3, 3) or (B, 9) predicted right-hand global rotation.
            gt_pose_rotmat: (B, 53, 3, 3) or (B, 477) GT local rotations in the 53-joint order
                (only the 22 body joints are used).
            gt_lhand_root: (B, 3, 3) or (B, 9) MANO GT left-hand global rotation.
            gt_rhand_root: (B, 3, 3) or (B, 9) MANO GT right-hand global rotation.
            pose_valid: (B, 477) (each rotation's flag repeated 9 times) or (B, 53) validity.
            root_trunc: (B,), (B, 1) or (B, 1, 1) pelvis flag (1: full-body sample).
            pred_body_rotmat: (B, 22, 3, 3) predicted local body rotations (root first);
                required when ``use_chain``.

        Returns:
            ``hand_root`` and, with ``use_chain``, ``hand_root_chain``: scalars for
            ``reduction='mean'``, else (B, 9) tensors ((B, B, 9) with ``official_broadcast``).
        """
        batch_size = pred_lhand_root.shape[0]
        gt_body = gt_pose_rotmat.reshape(batch_size, -1, 3, 3)[:, :len(SMPLX_BODY_PARENTS)]
        valid = pose_valid.reshape(batch_size, 53, -1)
        trunc = root_trunc.reshape(batch_size, 1)
        if self.official_broadcast:
            trunc = trunc[:, None]
        weight = self.loss_weight

        sides = (
            (pred_lhand_root, gt_lhand_root, ROT53_LWRIST_IDX, ROT53_LTHUMB1_IDX),
            (pred_rhand_root, gt_rhand_root, ROT53_RWRIST_IDX, ROT53_RTHUMB1_IDX),
        )
        preds = {'hand_root': [_flat9(s[0]) for s in sides]}
        if self.use_chain:
            if pred_body_rotmat is None:
                raise ValueError('HandRootLoss(use_chain=True) needs pred_body_rotmat')
            preds['hand_root_chain'] = [
                _flat9(chain_global_rotation(pred_body_rotmat, s[2])) for s in sides
            ]

        # full-body samples: GT wrist rotation from the GT chain; hand-only: MANO orientation
        full_gt = [_flat9(chain_global_rotation(gt_body, s[2])) for s in sides]
        full_valid = [valid[:, s[2]] for s in sides]
        hand_gt = [_flat9(s[1]) for s in sides]
        hand_valid = [valid[:, s[3]] for s in sides]

        losses = {}
        for key, (pred_l, pred_r) in preds.items():
            full = (masked_l1(full_gt[0], pred_l, full_valid[0]) * trunc +
                    masked_l1(full_gt[1], pred_r, full_valid[1]) * trunc) * weight
            hand = (masked_l1(hand_gt[0], pred_l, hand_valid[0]) * (1 - trunc) +
                    masked_l1(hand_gt[1], pred_r, hand_valid[1]) * (1 - trunc)) * weight
            loss = full + hand
            losses[key] = loss.mean() if self.reduction == 'mean' else loss
        return losses
