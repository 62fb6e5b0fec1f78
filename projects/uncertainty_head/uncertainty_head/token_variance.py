"""Log-variance readout: one SMPL-X parameter per task-token slot -> its log-variance."""

from typing import Dict, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from smplestx.models.heads.smplx_transformer_head import (
    NUM_BETAS,
    NUM_EXPRESSION,
    NUM_HAND_JOINTS,
    READOUTS,
)
from smplestx.registry import MODELS
from smplestx.utils.typing import OptMultiConfig

#: Rotations in the SMPL-X pose order: root, 21 body joints, 15 + 15 hand joints, jaw.
NUM_ROTATIONS = 53


def _slots(readout: str) -> Tuple[int, ...]:
    """Task-token indices that the base head's readout ``readout`` reads."""
    for name, start, count, _ in READOUTS:
        if name == readout:
            return tuple(range(start, start + count))
    raise KeyError(f'SMPLXTransformerHead has no readout {readout!r}')


def _hand_slots() -> Tuple[int, ...]:
    slots = _slots('dec_hand_pose')
    if len(slots) != 2 * NUM_HAND_JOINTS:
        raise ValueError(f'dec_hand_pose reads {len(slots)} tokens, expected '
                         f'{2 * NUM_HAND_JOINTS} (15 left then 15 right)')
    return slots


#: Token slot of each rotation (the base head reads one token per joint).
ROTATION_SLOTS: Tuple[int, ...] = (_slots('dec_body_root_pose') + _slots('dec_body_pose')
                                   + _hand_slots() + _slots('dec_face_jaw_pose'))
#: Token slot of each shape coefficient.
SHAPE_SLOTS: Tuple[int, ...] = _slots('dec_body_shape')
#: Token slot of each expression coefficient.
EXPRESSION_SLOTS: Tuple[int, ...] = _slots('dec_face_expression')


@MODELS.register_module()
class TokenVarianceReadout(BaseModule):
    """Predict a log-variance per SMPL-X rotation, shape and expression coefficient.

    The base head lays its 80 task tokens out one per quantity (a token per joint
    rotation, per beta, per expression coefficient). This module reads those 73 slots
    of the encoder's task tokens with one shared MLP (``LayerNorm -> Linear -> GELU ->
    Linear``) and adds a learned per-slot bias, so every slot gets its own base level.

    Args:
        in_channels: Token width C of the encoder.
        hidden_channels: Width of the MLP.
        init_log_var: Initial value of the per-slot bias.
        log_var_range: ``(min, max)`` clamp of the output, keeping the NLL finite.
        detach_input: Read detached tokens, so the readout's loss trains only the readout
            (post-hoc uncertainty of a fixed model). ``False`` lets it reach the encoder.
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 hidden_channels: int = 64,
                 init_log_var: float = 0.0,
                 log_var_range: Sequence[float] = (-10.0, 10.0),
                 detach_input: bool = True,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        low, high = (float(v) for v in log_var_range)
        if not low < high:
            raise ValueError(f'log_var_range must be (min, max) with min < max, got '
                             f'{tuple(log_var_range)}')
        self.log_var_range = (low, high)
        self.detach_input = detach_input
        slots = ROTATION_SLOTS + SHAPE_SLOTS + EXPRESSION_SLOTS
        self.register_buffer('slots', torch.tensor(slots, dtype=torch.long), persistent=False)
        self.mlp = nn.Sequential(
            nn.LayerNorm(in_channels), nn.Linear(in_channels, hidden_channels), nn.GELU(),
            nn.Linear(hidden_channels, 1))
        self.slot_bias = nn.Parameter(torch.full((len(slots), ), float(init_log_var)))

    def forward(self, task_tokens: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Read the log-variances.

        Args:
            task_tokens: The encoder's task tokens (B, 80, C).

        Returns:
            ``pose_log_var`` (B, 53), ``shape_log_var`` (B, 10) and ``expr_log_var``
            (B, 10): natural logs of the variances.
        """
        if task_tokens.ndim != 3 or task_tokens.shape[1] <= int(self.slots.max()):
            raise ValueError(f'TokenVarianceReadout expects task tokens (B, 80, C), got '
                             f'{tuple(task_tokens.shape)}')
        tokens = task_tokens.index_select(1, self.slots)
        if self.detach_input:
            tokens = tokens.detach()
        log_var = (self.mlp(tokens).squeeze(-1) + self.slot_bias).clamp(*self.log_var_range)
        pose, shape, expr = log_var.split((NUM_ROTATIONS, NUM_BETAS, NUM_EXPRESSION), dim=1)
        return dict(pose_log_var=pose, shape_log_var=shape, expr_log_var=expr)
