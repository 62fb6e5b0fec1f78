"""Several datasets behind one index space; :class:`MixedDatasetSampler` does the mixing."""

import bisect
from typing import List, Sequence, Tuple, Union

import numpy as np
from torch.utils.data import Dataset

from smplestx.registry import DATASETS

from .samplers.sample_seeds import index_seed, with_seed


@DATASETS.register_module()
class MixedDataset(Dataset):
    """Concatenate datasets (built from configs if needed) for multi-dataset training.

    Global index ``i`` addresses the datasets one after another. How many samples of each
    dataset an epoch uses is decided by :class:`~smplestx.datasets.samplers.MixedDatasetSampler`
    (strategies ``balance``, ``concat`` and ``weighted``); with any other sampler this is a
    plain concatenation. Per-dataset sample intervals are options of the member datasets.

    Args:
        datasets: Dataset configs or instances.
        lazy_init: Do not initialise the member datasets now.
    """

    def __init__(self, datasets: Sequence[Union[dict, Dataset]], lazy_init: bool = False) -> None:
        if not datasets:
            raise ValueError('MixedDataset needs at least one dataset')
        self.datasets: List[Dataset] = [
            DATASETS.build(d) if isinstance(d, dict) else d for d in datasets]
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    def full_init(self) -> None:
        """Initialise every member and compute the index offsets."""
        if self._fully_initialized:
            return
        for dataset in self.datasets:
            if hasattr(dataset, 'full_init'):
                dataset.full_init()
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()
        self._fully_initialized = True

    @property
    def lengths(self) -> List[int]:
        """Length of each member dataset."""
        self.full_init()
        return [len(d) for d in self.datasets]

    @property
    def dataset_names(self) -> List[str]:
        """``dataset_name`` of each member (class name when absent)."""
        return [getattr(d, 'dataset_name', type(d).__name__) for d in self.datasets]

    @property
    def metainfo(self) -> dict:
        """The first member's metainfo plus ``dataset_names``."""
        first = getattr(self.datasets[0], 'metainfo', {})
        return dict(first, dataset_names=self.dataset_names)

    def __len__(self) -> int:
        self.full_init()
        return self.cumulative_sizes[-1]

    def get_dataset_source(self, idx: int) -> Tuple[int, int]:
        """``(dataset index, index inside it)`` of a global index."""
        self.full_init()
        if idx < 0:
            idx += len(self)
        if not 0 <= idx < len(self):
            raise IndexError(f'index {idx} out of range for MixedDataset of length {len(self)}')
        source = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[source - 1] if source else 0
        return source, idx - start

    def __getitem__(self, idx: int):
        """The member's sample; the augmentation seed of a seeded ``idx`` is passed on."""
        source, local = self.get_dataset_source(idx)
        return self.datasets[source][with_seed(local, index_seed(idx))]
