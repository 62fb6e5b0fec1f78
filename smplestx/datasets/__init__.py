"""Datasets, transforms and samplers."""

from . import samplers, transforms  # noqa: F401
from .humandata import HumanDataset
from .mixed_dataset import MixedDataset

__all__ = ['HumanDataset', 'MixedDataset']
