"""Losses of SMPLest-X."""

from .hand_root_loss import HandRootLoss, chain_global_rotation
from .l1_loss import L1CoordLoss, L1ParamLoss, masked_l1
from .smplestx_loss import SMPLestXLoss

__all__ = [
    'L1CoordLoss', 'L1ParamLoss', 'masked_l1', 'HandRootLoss', 'chain_global_rotation',
    'SMPLestXLoss'
]
