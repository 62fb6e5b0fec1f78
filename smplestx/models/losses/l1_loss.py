"""Masked L1 losses with the reduction of the official ``main/train.py``.

The official ``CoordLoss`` / ``ParamLoss`` return ``|pred - target| * valid`` unreduced; the
weight is applied to that tensor and ``train.py`` then takes ``.mean()`` over **all** elements,
masked zeros included. ``reduction='mean'`` reproduces exactly that.
"""

import torch
import torch.nn as nn

from smplestx.registry import MODELS

__all__ = ['masked_l1', 'L1CoordLoss', 'L1ParamLoss']

_REDUCTIONS = ('mean', 'none')


def masked_l1(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Return the unreduced ``|pred - target| * valid`` (``valid`` broadcasts)."""
    return torch.abs(pred - target) * valid


class _MaskedL1Loss(nn.Module):
    """Masked L1 loss, weighted, then averaged over all elements.

    Args:
        loss_weight: Factor applied to the unreduced loss.
        reduction: ``'mean'`` (all elements, masked zeros included) or ``'none'``.
    """

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean') -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f'reduction must be one of {_REDUCTIONS}, got {reduction!r}')
        self.loss_weight = loss_weight
        self.reduction = reduction

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                valid: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred: Predictions.
            target: Targets of the same shape.
            valid: Mask broadcastable to ``pred`` (e.g. (B, J, 1) or (B, 1)).

        Returns:
            A scalar for ``'mean'``, else the weighted unreduced tensor.
        """
        loss = masked_l1(pred, target, valid) * self.loss_weight
        return loss.mean() if self.reduction == 'mean' else loss


@MODELS.register_module()
class L1CoordLoss(_MaskedL1Loss):
    """Masked L1 on joint coordinates, ``valid`` of shape (B, J, 1) (official ``CoordLoss``)."""


@MODELS.register_module()
class L1ParamLoss(_MaskedL1Loss):
    """Masked L1 on parameters, ``valid`` of shape (B, P) or (B, 1) (official ``ParamLoss``)."""
