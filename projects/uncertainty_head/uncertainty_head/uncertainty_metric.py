"""How well predicted SMPL-X variances describe the actual errors (NLL, rank correlation)."""

import logging
import math
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from scipy.stats import spearmanr

from smplestx.evaluation.metrics.sample_fields import instance_field
from smplestx.models.utils.rotation import batch_rodrigues
from smplestx.registry import METRICS

from .gaussian_nll_loss import rotation_nll, rotation_valid, scalar_nll
from .token_variance import NUM_ROTATIONS

#: Predicted axis-angle fields in the SMPL-X rotation order.
PRED_POSE_FIELDS = ('global_orient', 'body_pose', 'left_hand_pose', 'right_hand_pose',
                    'jaw_pose')
#: Ground-truth fields a sample needs; samples without them are skipped and counted.
GT_KEYS = ('smplx_pose', 'smplx_pose_valid', 'smplx_shape', 'smplx_shape_valid', 'smplx_expr',
           'smplx_expr_valid')
#: Groups: (name, predicted field, log-variance field, GT field, GT validity field).
GROUPS = (('shape', 'betas', 'betas_log_var', 'smplx_shape', 'smplx_shape_valid'),
          ('expr', 'expression', 'expression_log_var', 'smplx_expr', 'smplx_expr_valid'))


def _tensor(value: Any) -> torch.Tensor:
    return torch.as_tensor(value).detach().to('cpu', torch.float64)


@METRICS.register_module()
class SMPLXUncertaintyMetric(BaseMetric):
    """Calibration of predicted SMPL-X variances against the parameter errors.

    Per sample it compares the predicted rotations (``pred_instances.global_orient``,
    ``body_pose``, ``left_hand_pose``, ``right_hand_pose``, ``jaw_pose``, as matrices),
    ``betas`` and ``expression`` with ``gt_instances.smplx_pose``/``smplx_shape``/
    ``smplx_expr`` under the predicted ``pose_log_var``/``betas_log_var``/
    ``expression_log_var``, counting only valid entries (``smplx_pose_valid`` and the
    shape/expression flags). Results, pooled over all valid entries:

    - ``nll/{pose,shape,expr}``: mean Gaussian NLL (the loss's formula, without the
      constant); lower is better.
    - ``spearman/{pose,shape,expr}``: Spearman rank correlation between predicted
      variance and squared error; 1 means the uncertainty ranks the errors perfectly.
      NaN with fewer than two valid entries or constant values.

    Samples without SMPL-X parameter ground truth (mesh-only test sets) are skipped
    with a warning that counts them; the metrics are then NaN if none is left.

    Args:
        collect_device: Device for collecting results across ranks.
        prefix: Prefix of the metric names (default ``uncertainty``).
        collect_dir: Temporary folder for the CPU collection.
    """

    default_prefix = 'uncertainty'

    def __init__(self, collect_device: str = 'cpu', prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store per-entry NLL, squared error, log-variance and validity of each sample.

        Args:
            data_batch: The data-loader batch (unused).
            data_samples: Samples as dicts (``to_dict()``) or ``SMPLXDataSample``s.
        """
        for sample in data_samples:
            if all(instance_field(sample, 'gt_instances', key, required=False) is not None
                   for key in GT_KEYS):
                self.results.append(self._sample_entries(sample))
            else:
                self.results.append(dict(skipped=True))

    def _sample_entries(self, sample: Any) -> Dict[str, np.ndarray]:
        """The valid entries of one sample per group (see :meth:`_entries`)."""

        def field(instances: str, key: str, shape: Sequence[int]) -> torch.Tensor:
            return _tensor(instance_field(sample, instances, key)).reshape(*shape)

        pose = torch.cat([field('pred_instances', key, (1, -1)) for key in PRED_POSE_FIELDS],
                         dim=1)
        pred_rotmat = batch_rodrigues(pose.reshape(1, NUM_ROTATIONS, 3))
        gt_rotmat = batch_rodrigues(field('gt_instances', 'smplx_pose', (1, NUM_ROTATIONS, 3)))
        log_var = field('pred_instances', 'pose_log_var', (1, NUM_ROTATIONS))
        result = dict(pose=self._entries(
            rotation_nll(pred_rotmat, gt_rotmat, log_var),
            (pred_rotmat - gt_rotmat).square().flatten(-2).mean(-1), log_var,
            rotation_valid(field('gt_instances', 'smplx_pose_valid', (1, -1)))))
        for name, pred_key, var_key, gt_key, valid_key in GROUPS:
            value = field('pred_instances', pred_key, (1, -1))
            target = field('gt_instances', gt_key, (1, -1))
            log_var = field('pred_instances', var_key, (1, -1))
            valid = field('gt_instances', valid_key, (1, 1)).expand_as(value)
            result[name] = self._entries(scalar_nll(value, target, log_var),
                                         (value - target).square(), log_var, valid)
        return result

    @staticmethod
    def _entries(nll: torch.Tensor, sq_err: torch.Tensor, log_var: torch.Tensor,
                 valid: torch.Tensor) -> np.ndarray:
        """(K, 3) array of ``[nll, squared error, log-variance]`` of the valid entries."""
        keep = (valid > 0).reshape(-1)
        stacked = torch.stack((nll.reshape(-1), sq_err.reshape(-1), log_var.reshape(-1)), 1)
        return stacked[keep].numpy()

    def compute_metrics(self, results: List[Dict[str, np.ndarray]]) -> Dict[str, float]:
        """Pool the entries of all samples and compute the metrics.

        Args:
            results: The per-sample dicts of all ranks.

        Returns:
            ``nll/<group>`` and ``spearman/<group>`` for ``pose``, ``shape``, ``expr``.
        """
        metrics: Dict[str, float] = {}
        skipped = sum(1 for r in results if r.get('skipped'))
        if skipped:
            print_log(f'SMPLXUncertaintyMetric: {skipped} of {len(results)} samples have no '
                      f'SMPL-X parameter ground truth and were skipped', logger='current',
                      level=logging.WARNING)
        results = [r for r in results if not r.get('skipped')]
        for group in ('pose', 'shape', 'expr'):
            parts = [r[group] for r in results if len(r[group])]
            entries = np.concatenate(parts) if parts else np.zeros((0, 3))
            metrics[f'nll/{group}'] = float(entries[:, 0].mean()) if len(entries) else math.nan
            metrics[f'spearman/{group}'] = _spearman(entries[:, 2], entries[:, 1])
        return metrics


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman correlation, NaN when undefined (under two values or a constant input)."""
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(spearmanr(a, b)[0])
