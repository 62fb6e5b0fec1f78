"""Per-sample augmentation seeds that travel with the sampled indices.

Random augmentation drawn from the global ``np.random`` of a dataloader worker depends on
the number of workers, on which worker gets which batch and on what a persistent worker drew
before; a resumed run therefore sees other augmentations. Here the sampler, which runs in the
main process and knows the run seed and the epoch, attaches a seed to every index it yields:
a :class:`SeededIndex` is an ``int`` (datasets index with it as usual) whose ``seed``
survives the pickling to the workers. A dataset hands it to the pipeline as
``results['aug_seed']`` and :class:`~smplestx.datasets.transforms.RandomSMPLXAugment`
draws from ``np.random.default_rng(aug_seed)``. The seed is a function of
``(run seed, epoch, position in the epoch's global sample list)`` only, so the augmentation
does not depend on the workers nor on the number of processes, and a sample repeated within
an epoch (padding, a small dataset cycled by ``MixedDatasetSampler``) is augmented anew.

Passing the seed with the index (rather than, e.g., telling the dataset the epoch) is what
makes it work with persistent workers: they hold their own copy of the dataset, which
attribute updates in the main process never reach, but every index is sent to them.
"""

import itertools
from typing import Any, Iterable, Iterator, Optional, Tuple

import numpy as np

#: Mixed into every seed so that augmentation streams differ from the sampler's own
#: ``default_rng([seed, ...])`` streams.
_AUGMENT_TAG = 0x61756731


class SeededIndex(int):
    """A dataset index carrying the seed of the sample's augmentation.

    It compares, hashes and indexes like the plain ``int``; arithmetic gives plain ints
    (the seed belongs to this very sample only).

    Args:
        value: The index.
        seed: A non-negative augmentation seed.
    """

    def __new__(cls, value: int, seed: int) -> 'SeededIndex':
        """Make the index ``value`` carrying ``seed``."""
        obj = super().__new__(cls, value)
        obj.seed = int(seed)
        return obj

    def __reduce__(self) -> Tuple[type, Tuple[int, int]]:
        return (SeededIndex, (int(self), self.seed))


def sample_seed(seed: int, epoch: int, position: int) -> int:
    """The augmentation seed of the sample at ``position`` of ``epoch``'s sample list.

    Args:
        seed: The sampler's seed (negative values are taken modulo ``2**64``).
        epoch: The epoch.
        position: Position of the sample in the epoch's global list (all ranks).

    Returns:
        A 64-bit non-negative integer.
    """
    entropy = [int(seed) % 2**64, int(epoch), int(position), _AUGMENT_TAG]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0])


def seed_rank_indices(indices: Iterable[int], seed: int, epoch: int, rank: int,
                      world_size: int) -> Iterator[SeededIndex]:
    """Attach seeds to one rank's share of a global sample list.

    Args:
        indices: This rank's indices, i.e. positions ``rank, rank + world_size, ...`` of
            the global list (of the epoch, or of an endless stream).
        seed: The sampler's seed.
        epoch: The epoch (0 for a sampler without epochs).
        rank: This process's rank.
        world_size: The number of processes.

    Returns:
        The indices as :class:`SeededIndex`, each with ``sample_seed(seed, epoch, p)`` of
        its global position ``p``.
    """
    positions = itertools.count(rank, world_size)
    return (SeededIndex(idx, sample_seed(seed, epoch, pos))
            for pos, idx in zip(positions, indices))


def index_seed(idx: Any) -> Optional[int]:
    """The augmentation seed carried by ``idx`` (``None`` for a plain index)."""
    return getattr(idx, 'seed', None)


def with_seed(value: int, seed: Optional[int]) -> int:
    """``value`` as a :class:`SeededIndex` with ``seed``, or a plain int without one."""
    return int(value) if seed is None else SeededIndex(value, seed)
