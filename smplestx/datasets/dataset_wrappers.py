"""MMEngine's dataset wrappers, passing on the augmentation seeds of sampled indices.

MMEngine's ``ConcatDataset`` and ``RepeatDataset`` map an index to
the wrapped dataset's index with integer arithmetic, which turns a
:class:`~smplestx.datasets.samplers.SeededIndex` into a plain ``int``: the wrapped dataset
then augments from the worker's global RNG, and a resumed run sees other augmentations.
These subclasses re-attach the seed and change nothing else. They are registered under
MMEngine's names in the ``smplestx`` scope, so ``type='ConcatDataset'`` in a smplestx config
gets them.
"""

from typing import Tuple

from mmengine.dataset import ConcatDataset as _ConcatDataset
from mmengine.dataset import RepeatDataset as _RepeatDataset

from smplestx.registry import DATASETS

from .samplers.sample_seeds import index_seed, with_seed


@DATASETS.register_module()
class ConcatDataset(_ConcatDataset):
    """MMEngine's ``ConcatDataset`` that keeps the seed of a seeded index."""

    def _get_ori_dataset_idx(self, idx: int) -> Tuple[int, int]:
        dataset_idx, sample_idx = super()._get_ori_dataset_idx(idx)
        return dataset_idx, with_seed(sample_idx, index_seed(idx))


@DATASETS.register_module()
class RepeatDataset(_RepeatDataset):
    """MMEngine's ``RepeatDataset`` that keeps the seed of a seeded index."""

    def _get_ori_dataset_idx(self, idx: int) -> int:
        return with_seed(super()._get_ori_dataset_idx(idx), index_seed(idx))
