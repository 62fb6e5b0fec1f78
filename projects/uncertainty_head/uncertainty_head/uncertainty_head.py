"""SMPL-X head with per-parameter uncertainty on top of the pretrained SMPLest-X head."""

from typing import Any, Dict, Tuple

import torch

from smplestx.models.heads.smplx_transformer_head import (
    META_KEYS,
    TARGET_KEYS,
    SMPLXTransformerHead,
    gather_instances,
)
from smplestx.models.utils.rotation import rot6d_to_rotmat
from smplestx.registry import MODELS
from smplestx.utils.typing import ConfigType, OptConfigType, SampleList

from .gaussian_nll_loss import NLL_GT_KEYS
from .token_variance import NUM_ROTATIONS

#: Raw 6D outputs of the base head, concatenated in the SMPL-X rotation order.
ROTATION_OUTPUTS = ('body_root_pose', 'body_pose', 'lhand_pose', 'rhand_pose', 'face_jaw_pose')
#: Log-variance outputs -> names in ``pred_instances``.
PRED_FIELDS = {'pose_log_var': 'pose_log_var', 'shape_log_var': 'betas_log_var',
               'expr_log_var': 'expression_log_var'}


@MODELS.register_module()
class SMPLXUncertaintyHead(SMPLXTransformerHead):
    """The SMPLest-X head plus an ``uncertainty`` module predicting log-variances.

    Everything of :class:`SMPLXTransformerHead` is kept with its parameter names, so the
    released weights load into it; the new module lives under ``head.uncertainty.``.
    The uncertainty module reads the encoder's task tokens and is trained with a
    Gaussian NLL (``nll_loss``) around the head's own predictions.

    Args:
        uncertainty: Config of the log-variance module (``TokenVarianceReadout``);
            ``in_channels`` defaults to ``feat_dim``.
        nll_loss: Config of the NLL loss (``SMPLXGaussianNLLLoss``).
        detach_mean: Treat the predicted parameters as constants in the NLL, so the NLL
            fits the variances to the head's errors and never moves the means.
        **kwargs: Arguments of :class:`SMPLXTransformerHead`. Its ``loss`` (the
            SMPLest-X losses) is optional here; when given, its terms are added.
    """

    def __init__(self, uncertainty: ConfigType, nll_loss: ConfigType,
                 detach_mean: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        uncertainty = dict(uncertainty)
        uncertainty.setdefault('in_channels', self.feat_dim)
        self.uncertainty = MODELS.build(uncertainty)
        self.nll_loss = MODELS.build(nll_loss)
        self.detach_mean = detach_mean

    def forward(self, feats: Tuple[torch.Tensor, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Return the base head's raw outputs plus the log-variances.

        Args:
            feats: ``(img_feat, task_tokens)`` from the backbone.

        Returns:
            The dict of :meth:`SMPLXTransformerHead.forward` with ``pose_log_var``
            (B, 53), ``shape_log_var`` and ``expr_log_var`` (B, 10) added.
        """
        raw = super().forward(feats)
        raw.update(self.uncertainty(feats[1]))
        return raw

    def predict(self, feats: Tuple[torch.Tensor, torch.Tensor], data_samples: SampleList,
                test_cfg: OptConfigType = None) -> SampleList:
        """Predict as the base head, plus the log-variances.

        Args:
            feats: The backbone output.
            data_samples: One ``SMPLXDataSample`` per crop.
            test_cfg: Unused; kept for the MMEngine head interface.

        Returns:
            The data samples; ``pred_instances`` also hold ``pose_log_var`` (1, 53),
            ``betas_log_var`` and ``expression_log_var`` (1, 10).
        """
        raw = self.forward(feats)
        data_samples = self.pack_predictions(self.decode(raw), data_samples)
        for i, sample in enumerate(data_samples):
            for key, field in PRED_FIELDS.items():
                sample.pred_instances.set_field(raw[key][i:i + 1], field)
        return data_samples

    def loss(self, feats: Tuple[torch.Tensor, torch.Tensor], data_samples: SampleList,
             train_cfg: OptConfigType = None) -> Dict[str, torch.Tensor]:
        """The NLL terms (``loss_nll_*``) plus the SMPLest-X terms when ``loss`` is set.

        Args:
            feats: The backbone output.
            data_samples: One ``SMPLXDataSample`` per crop with the ground truth in
                ``gt_instances`` (leading dim 1).
            train_cfg: Unused; kept for the MMEngine head interface.

        Returns:
            The loss dict.
        """
        raw = self.forward(feats)
        device = raw['body_betas'].device
        losses: Dict[str, torch.Tensor] = {}
        if self.loss_module is not None:
            losses.update(self.loss_module(self.decode(raw),
                                           gather_instances(data_samples, TARGET_KEYS, device),
                                           gather_instances(data_samples, META_KEYS, device)))
        batch = raw['body_betas'].shape[0]
        rot6d = torch.cat([raw[key] for key in ROTATION_OUTPUTS], dim=1)
        mean = dict(pose_rotmat=rot6d_to_rotmat(rot6d.reshape(batch, NUM_ROTATIONS, 6)),
                    shape=raw['body_betas'], expr=raw['face_expression'])
        if self.detach_mean:
            mean = {key: value.detach() for key, value in mean.items()}
        log_var = {key: raw[key] for key in PRED_FIELDS}
        gt = gather_instances(data_samples, NLL_GT_KEYS, device)
        losses.update(self.nll_loss(mean, log_var, gt))
        return losses
