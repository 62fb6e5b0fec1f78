"""Batched similarity Procrustes alignment (scale, rotation and translation)."""

from typing import Tuple

import torch
from torch import Tensor


def _check_point_sets(pred: Tensor, gt: Tensor) -> None:
    if pred.ndim != 3 or pred.shape[-1] != 3 or pred.shape != gt.shape:
        raise ValueError(f'Procrustes needs two (B, N, 3) point sets of the same shape, got '
                         f'{tuple(pred.shape)} and {tuple(gt.shape)}')


def _centered_similarity(src_c: Tensor, dst_c: Tensor) -> Tuple[Tensor, Tensor]:
    """Scale (B,) and rotation (B, 3, 3) mapping centred ``src_c`` onto centred ``dst_c``."""
    num_points = src_c.shape[1]
    cov = src_c.transpose(1, 2) @ dst_c / num_points  # (B, 3, 3)
    u, sing, vh = torch.linalg.svd(cov)
    rot = vh.transpose(1, 2) @ u.transpose(1, 2)
    # Flip the weakest direction where the optimum would be a reflection.
    sign = torch.ones_like(sing)
    sign[:, -1] = torch.where(torch.linalg.det(rot) < 0, -1.0, 1.0).to(sing.dtype)
    rot = (vh * sign[:, :, None]).transpose(1, 2) @ u.transpose(1, 2)
    var_src = torch.linalg.vector_norm(src_c, dim=(1, 2)).square() / num_points
    return (sing * sign).sum(dim=1) / var_src, rot


def similarity_transform(pred: Tensor, gt: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """Least-squares similarity transform that maps each ``pred`` set onto ``gt``.

    Solves ``min_{s,R,t} sum_n ||s R p_n + t - g_n||^2`` per batch item (Umeyama):
    SVD of the cross-covariance, with the last singular direction flipped when the
    rotation would be a reflection. The scale is the (sign-corrected) sum of the
    singular values over the total variance of ``pred``. Computed in float64.

    Args:
        pred: Points to align, shape (B, N, 3).
        gt: Target points, shape (B, N, 3).

    Returns:
        ``(scale (B,), rotation (B, 3, 3), translation (B, 3))`` in float64, such that
        ``aligned = scale * pred @ rotation.T + translation``.

    Raises:
        ValueError: If the shapes are not two equal (B, N, 3).
    """
    _check_point_sets(pred, gt)
    src = pred.to(torch.float64)
    dst = gt.to(torch.float64)
    mu_src = src.mean(dim=1, keepdim=True)
    mu_dst = dst.mean(dim=1, keepdim=True)
    scale, rot = _centered_similarity(src - mu_src, dst - mu_dst)
    trans = mu_dst[:, 0] - scale[:, None] * (rot @ mu_src[:, 0, :, None])[..., 0]
    return scale, rot, trans


def procrustes_residuals(pred: Tensor, gt: Tensor) -> Tensor:
    """``similarity_procrustes(pred, gt) - gt`` in float64, computed from centred sets.

    Args:
        pred: Points to align, shape (B, N, 3).
        gt: Target points, shape (B, N, 3).

    Returns:
        Residual vectors of shape (B, N, 3), float64.
    """
    _check_point_sets(pred, gt)
    src = pred.to(torch.float64)
    dst = gt.to(torch.float64)
    src_c = src - src.mean(dim=1, keepdim=True)
    dst_c = dst - dst.mean(dim=1, keepdim=True)
    scale, rot = _centered_similarity(src_c, dst_c)
    return torch.baddbmm(dst_c, src_c, rot.transpose(1, 2) * scale[:, None, None],
                         beta=-1.0)


def similarity_procrustes(pred: Tensor, gt: Tensor) -> Tensor:
    """Align ``pred`` to ``gt`` with the best similarity transform, per batch item.

    Equivalent to the official ``rigid_align`` applied to each sample.

    Args:
        pred: Points to align, shape (B, N, 3).
        gt: Target points, shape (B, N, 3).

    Returns:
        The aligned ``pred``, shape (B, N, 3), in ``pred``'s dtype (float64 internally).
    """
    scale, rot, trans = similarity_transform(pred, gt)
    aligned = scale[:, None, None] * (pred.to(torch.float64) @ rot.transpose(1, 2))
    return (aligned + trans[:, None, :]).to(pred.dtype)
