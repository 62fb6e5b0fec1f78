"""Uncertainty-aware SMPL-X head: per-parameter variances with a Gaussian NLL.

Importing this package registers its modules in the smplestx registries (configs list it
in ``custom_imports``).
"""

from .gaussian_nll_loss import SMPLXGaussianNLLLoss
from .token_variance import TokenVarianceReadout
from .uncertainty_head import SMPLXUncertaintyHead
from .uncertainty_metric import SMPLXUncertaintyMetric

__all__ = ['SMPLXGaussianNLLLoss', 'SMPLXUncertaintyHead', 'SMPLXUncertaintyMetric',
           'TokenVarianceReadout']
