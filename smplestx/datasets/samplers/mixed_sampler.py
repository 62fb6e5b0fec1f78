"""Per-epoch mixing of several datasets: ``balance``, ``concat`` and ``weighted``.

Official semantics (``datasets/dataset.py: MultipleDatasets``), for reference:

* ``balance`` (default): with a total length ``T`` and ``D`` datasets each dataset owns
  ``T // D`` consecutive global indices. A smaller dataset is cycled modulo its length and
  the remainder after the last full cycle is drawn at random; a **larger dataset only ever
  uses its first** ``T // D`` **samples** (after one shuffle with seed 2023 at load time), so
  its tail is never seen, in any epoch. Indices beyond ``D * (T // D)`` pick a random
  dataset.
* ``concat``: plain concatenation.
* ``weighted``: like ``balance`` with a per-dataset length table (not wired in training).

Here every strategy only sets each dataset's **quota** per epoch; samples are then drawn as
a stream of fresh random permutations of the dataset, continued from epoch to epoch. A
dataset larger than its quota is therefore visited completely over ``ceil(len / quota)``
epochs, and a smaller one is repeated as evenly as possible (each sample ``floor`` or
``ceil`` times) instead of with a random tail.
"""

import math
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from smplestx.registry import DATA_SAMPLERS

from .sample_seeds import seed_rank_indices

STRATEGIES = ('balance', 'concat', 'weighted')


def dataset_quotas(lengths: Sequence[int], strategy: str = 'balance',
                   total_len: Optional[int] = None,
                   weights: Optional[Sequence[float]] = None) -> List[int]:
    """Samples drawn from each dataset per epoch.

    Args:
        lengths: Dataset lengths.
        strategy: ``'balance'`` (equal shares of ``total_len``, default ``max(lengths) *
            len(lengths)`` like the official ``total_len=None``), ``'concat'`` (each dataset
            once) or ``'weighted'`` (shares proportional to ``weights``, default
            ``total_len = sum(lengths)``).
        total_len: Epoch length.
        weights: Relative weights for ``'weighted'``.

    Returns:
        Quotas summing to the epoch length (largest-remainder rounding).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f'strategy must be one of {STRATEGIES}, got {strategy!r}')
    num = len(lengths)
    if strategy == 'concat':
        return [int(n) for n in lengths]
    if strategy == 'balance':
        share = np.ones(num)
        total = int(total_len) if total_len is not None else int(max(lengths)) * num
    else:
        if weights is None or len(weights) != num:
            raise ValueError(f"'weighted' needs one weight per dataset ({num}), got {weights}")
        share = np.asarray(weights, dtype=np.float64)
        if (share < 0).any() or share.sum() <= 0:
            raise ValueError(f'weights must be non-negative and not all zero, got {weights}')
        total = int(total_len) if total_len is not None else int(sum(lengths))
    exact = share / share.sum() * total
    quotas = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - quotas), kind='stable')
    quotas[order[:total - int(quotas.sum())]] += 1
    return quotas.tolist()


def stream_indices(length: int, start: int, count: int, seed: int, shuffle: bool = True
                   ) -> np.ndarray:
    """Items ``start .. start + count`` of an endless stream of permutations of ``length``.

    Pass ``p`` of the stream is a permutation seeded by ``(seed, p)`` (or ``arange`` when not
    shuffling), so consecutive windows never repeat a sample before the whole dataset was
    used.

    Args:
        length: Dataset length.
        start: Position of the first item in the stream.
        count: Number of items.
        seed: Seed of the stream.
        shuffle: Use random permutations.

    Returns:
        ``(count,)`` int64 indices into the dataset.
    """
    if count == 0:
        return np.zeros(0, np.int64)
    if length <= 0:
        raise ValueError('cannot draw samples from an empty dataset')
    positions = np.arange(start, start + count, dtype=np.int64)
    passes, offsets = np.divmod(positions, length)
    out = np.empty(count, np.int64)
    for p in np.unique(passes):
        sel = passes == p
        perm = np.random.default_rng([seed, int(p)]).permutation(length) if shuffle else \
            np.arange(length)
        out[sel] = perm[offsets[sel]]
    return out


@DATA_SAMPLERS.register_module()
class MixedDatasetSampler(Sampler):
    """Sampler mixing the members of a :class:`~smplestx.datasets.MixedDataset`.

    Each epoch draws ``quota_i`` samples from dataset ``i`` (see :func:`dataset_quotas`),
    continuing a per-dataset stream of permutations, shuffles the union (if ``shuffle``) and
    gives every rank an equal slice, like MMEngine's ``DefaultSampler``. Call
    :meth:`set_epoch` (MMEngine's ``DistSamplerSeedHook`` does) to move on.

    Every index is a :class:`~smplestx.datasets.samplers.SeededIndex` carrying the
    augmentation seed ``sample_seed(seed, epoch, p)`` of its position ``p`` in the epoch's
    padded global list, so the augmentation does not depend on the dataloader workers.

    Args:
        dataset: A :class:`MixedDataset` (any other dataset counts as one member).
        strategy: ``'balance'``, ``'concat'`` or ``'weighted'``.
        total_len: Samples per epoch (all ranks together).
        weights: Per-dataset weights for ``'weighted'``.
        shuffle: Shuffle within datasets and across the epoch.
        seed: Random seed, shared by all ranks (synchronised when ``None``).
        round_up: Pad the epoch so every rank gets the same number of samples.
    """

    def __init__(self, dataset, strategy: str = 'balance', total_len: Optional[int] = None,
                 weights: Optional[Sequence[float]] = None, shuffle: bool = True,
                 seed: Optional[int] = None, round_up: bool = True) -> None:
        self.dataset = dataset
        self.lengths = list(getattr(dataset, 'lengths', [len(dataset)]))
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        self.strategy = strategy
        self.quotas = dataset_quotas(self.lengths, strategy, total_len, weights)
        for length, quota, name in zip(self.lengths, self.quotas, self._names()):
            if quota > 0 and length == 0:
                raise ValueError(f'dataset {name} is empty but has a quota of {quota}')
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.round_up = round_up
        self.rank, self.world_size = get_dist_info()
        self.total = int(sum(self.quotas))
        if round_up:
            self.num_samples = math.ceil(self.total / self.world_size)
        else:
            self.num_samples = math.ceil((self.total - self.rank) / self.world_size)
        self.epoch = 0

    def _names(self) -> List[str]:
        names = getattr(self.dataset, 'dataset_names', None)
        return list(names) if names else [str(i) for i in range(len(self.lengths))]

    def epoch_indices(self, epoch: int) -> np.ndarray:
        """All global indices of an epoch, before the split across ranks."""
        parts = []
        for i, (length, quota) in enumerate(zip(self.lengths, self.quotas)):
            local = stream_indices(length, epoch * quota, quota, self.seed * 1000003 + i,
                                   self.shuffle)
            parts.append(local + self.offsets[i])
        indices = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        if self.shuffle:
            indices = np.random.default_rng([self.seed, epoch, 7]).permutation(indices)
        return indices

    def per_dataset_counts(self, indices: np.ndarray) -> Dict[str, int]:
        """How many of ``indices`` fall in each dataset (for logging and tests)."""
        source = np.searchsorted(np.cumsum(self.lengths), indices, side='right')
        counts = np.bincount(source, minlength=len(self.lengths))
        return dict(zip(self._names(), counts.tolist()))

    def __iter__(self) -> Iterator[int]:
        """This rank's indices, each a :class:`SeededIndex` (see the class docstring)."""
        seed, epoch = self.seed, self.epoch
        indices = self.epoch_indices(epoch)
        if self.round_up and len(indices):
            size = self.num_samples * self.world_size
            indices = np.resize(indices, size)
        return seed_rank_indices(indices[self.rank::self.world_size].tolist(), seed, epoch,
                                 self.rank, self.world_size)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch (changes the drawn samples and their order)."""
        self.epoch = epoch

    def describe(self) -> List[Tuple[str, int, int]]:
        """``(name, length, quota)`` per dataset."""
        return list(zip(self._names(), self.lengths, self.quotas))
