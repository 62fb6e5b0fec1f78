"""Gaussian negative log-likelihood of SMPL-X parameters under predicted variances."""

import math
from typing import Dict

import torch
from torch import nn

from smplestx.models.utils.rotation import batch_rodrigues
from smplestx.registry import MODELS

from .token_variance import NUM_ROTATIONS

#: Fields of ``gt_instances`` the loss reads (official target and mask names).
NLL_GT_KEYS = ('smplx_pose', 'smplx_shape', 'smplx_expr', 'smplx_pose_valid',
               'smplx_shape_valid', 'smplx_expr_valid')

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def rotation_nll(pred_rotmat: torch.Tensor, gt_rotmat: torch.Tensor, log_var: torch.Tensor,
                 full: bool = False) -> torch.Tensor:
    """Per-rotation Gaussian NLL with one isotropic variance per rotation matrix.

    Each of the 9 matrix entries is N(gt, sigma^2); the NLL is averaged over the 9, so
    the value is ``0.5 * (log sigma^2 + |R_pred - R_gt|_F^2 / (9 sigma^2))``.

    Args:
        pred_rotmat: Predicted rotations (B, K, 3, 3).
        gt_rotmat: Ground-truth rotations (B, K, 3, 3).
        log_var: Log-variances (B, K).
        full: Add the constant ``0.5 * log(2 pi)``.

    Returns:
        The NLL per rotation (B, K).
    """
    sq_err = (pred_rotmat - gt_rotmat).square().flatten(-2).mean(-1)
    nll = 0.5 * (log_var + sq_err * torch.exp(-log_var))
    return nll + _HALF_LOG_2PI if full else nll


def scalar_nll(pred: torch.Tensor, gt: torch.Tensor, log_var: torch.Tensor,
               full: bool = False) -> torch.Tensor:
    """Per-coefficient Gaussian NLL ``0.5 * (log sigma^2 + (pred - gt)^2 / sigma^2)``."""
    nll = 0.5 * (log_var + (pred - gt).square() * torch.exp(-log_var))
    return nll + _HALF_LOG_2PI if full else nll


def masked_mean(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` over the entries where ``valid`` > 0 (0 when there are none)."""
    weight = (valid > 0).to(values.dtype).expand_as(values)
    return (values * weight).sum() / weight.sum().clamp(min=1.0)


def rotation_valid(pose_valid: torch.Tensor) -> torch.Tensor:
    """Per-rotation flags (B, 53) from the (B, 477) or (B, 53) ``smplx_pose_valid``."""
    batch = pose_valid.shape[0]
    if pose_valid.shape[-1] == NUM_ROTATIONS * 9:
        return pose_valid.reshape(batch, NUM_ROTATIONS, 9).amin(-1)
    if pose_valid.shape[-1] == NUM_ROTATIONS:
        return pose_valid.reshape(batch, NUM_ROTATIONS)
    raise ValueError(f'smplx_pose_valid must be (B, 477) or (B, 53), got '
                     f'{tuple(pose_valid.shape)}')


@MODELS.register_module()
class SMPLXGaussianNLLLoss(nn.Module):
    """Gaussian NLL of the SMPL-X rotations, shape and expression (masked means).

    Rotations are compared as matrices (see :func:`rotation_nll`), shape and expression
    coefficient by coefficient. Each term is averaged over the valid entries only
    (``smplx_pose_valid`` per rotation, ``smplx_shape_valid``/``smplx_expr_valid`` per
    sample) and weighted.

    Args:
        pose_weight: Weight of ``loss_nll_pose``.
        shape_weight: Weight of ``loss_nll_shape``.
        expr_weight: Weight of ``loss_nll_expr``.
        full: Add the constant ``0.5 * log(2 pi)`` (does not change gradients).
    """

    def __init__(self, pose_weight: float = 1.0, shape_weight: float = 1.0,
                 expr_weight: float = 1.0, full: bool = False) -> None:
        super().__init__()
        self.pose_weight = pose_weight
        self.shape_weight = shape_weight
        self.expr_weight = expr_weight
        self.full = full

    def forward(self, mean: Dict[str, torch.Tensor], log_var: Dict[str, torch.Tensor],
                gt: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Compute the three NLL terms.

        Args:
            mean: ``pose_rotmat`` (B, 53, 3, 3), ``shape`` (B, 10), ``expr`` (B, 10).
            log_var: ``pose_log_var`` (B, 53), ``shape_log_var`` (B, 10),
                ``expr_log_var`` (B, 10).
            gt: The :data:`NLL_GT_KEYS` fields, batched: ``smplx_pose`` (B, 159)
                axis-angle, ``smplx_shape``/``smplx_expr`` (B, 10), ``smplx_pose_valid``
                (B, 477), ``smplx_shape_valid``/``smplx_expr_valid`` (B, ).

        Returns:
            ``loss_nll_pose``, ``loss_nll_shape``, ``loss_nll_expr`` (scalars).
        """
        dtype = mean['shape'].dtype
        batch = mean['shape'].shape[0]
        gt_rotmat = batch_rodrigues(gt['smplx_pose'].to(dtype).reshape(batch, NUM_ROTATIONS, 3))
        pose = rotation_nll(mean['pose_rotmat'], gt_rotmat, log_var['pose_log_var'], self.full)
        shape = scalar_nll(mean['shape'], gt['smplx_shape'].to(dtype), log_var['shape_log_var'],
                           self.full)
        expr = scalar_nll(mean['expr'], gt['smplx_expr'].to(dtype), log_var['expr_log_var'],
                          self.full)
        return dict(
            loss_nll_pose=self.pose_weight * masked_mean(
                pose, rotation_valid(gt['smplx_pose_valid'])),
            loss_nll_shape=self.shape_weight * masked_mean(
                shape, gt['smplx_shape_valid'].reshape(batch, 1)),
            loss_nll_expr=self.expr_weight * masked_mean(
                expr, gt['smplx_expr_valid'].reshape(batch, 1)))
