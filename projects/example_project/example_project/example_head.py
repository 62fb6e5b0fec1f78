"""A template head: the SMPLest-X head with per-term loss weights (replace with your idea)."""

from typing import Any, Dict, Optional, Tuple

import torch

from smplestx.models.heads.smplx_transformer_head import SMPLXTransformerHead
from smplestx.registry import MODELS
from smplestx.utils.typing import OptConfigType, SampleList


@MODELS.register_module()
class ExampleSMPLXHead(SMPLXTransformerHead):
    """:class:`SMPLXTransformerHead` whose loss terms can be re-weighted by name.

    It adds no parameters, so released checkpoints load into it strictly; a head with
    new modules also sets ``allow_missing_prefixes`` on the estimator (see
    ``projects/uncertainty_head``).

    Args:
        loss_weights: ``{loss name: factor}``, e.g. ``{'loss_joint_proj': 2.0}``;
            terms not named keep factor 1.
        **kwargs: Arguments of :class:`SMPLXTransformerHead`.
    """

    def __init__(self, loss_weights: Optional[Dict[str, float]] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loss_weights = dict(loss_weights or {})

    def loss(self, feats: Tuple[torch.Tensor, torch.Tensor], data_samples: SampleList,
             train_cfg: OptConfigType = None) -> Dict[str, torch.Tensor]:
        """The SMPLest-X losses with :attr:`loss_weights` applied.

        Raises:
            KeyError: If ``loss_weights`` names a term the loss does not return.
        """
        losses = super().loss(feats, data_samples, train_cfg)
        unknown = sorted(set(self.loss_weights) - set(losses))
        if unknown:
            raise KeyError(f'ExampleSMPLXHead.loss_weights names unknown loss terms {unknown}; '
                           f'the loss returns {sorted(losses)}')
        return {key: value * self.loss_weights.get(key, 1.0) for key, value in losses.items()}
