"""Datasets, transforms and samplers."""

from . import samplers, transforms  # noqa: F401
from .dataset_wrappers import ConcatDataset, RepeatDataset
from .humandata import HumanDataset
from .media_dataset import MediaDataset
from .mixed_dataset import MixedDataset

__all__ = ['ConcatDataset', 'HumanDataset', 'MediaDataset', 'MixedDataset', 'RepeatDataset']
