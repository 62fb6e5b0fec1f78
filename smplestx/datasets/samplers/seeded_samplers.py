"""MMEngine's ``DefaultSampler`` and ``InfiniteSampler`` yielding seeded indices.

Select them in a training config with ``sampler=dict(type='SeededDefaultSampler')`` (or
``'SeededInfiniteSampler'``): the indices, their order and the rank split are MMEngine's,
and each index additionally carries the augmentation seed of
:func:`~smplestx.datasets.samplers.sample_seeds.sample_seed`. MMEngine's own
``DefaultSampler`` yields plain indices: augmentation then falls back to the workers' global
``np.random`` and depends on the number of workers.
"""

from typing import Iterator

from mmengine.dataset import DefaultSampler, InfiniteSampler

from smplestx.registry import DATA_SAMPLERS

from .sample_seeds import seed_rank_indices


@DATA_SAMPLERS.register_module()
class SeededDefaultSampler(DefaultSampler):
    """``DefaultSampler`` whose indices carry per-sample augmentation seeds.

    The seed of the sample at position ``p`` of the epoch's padded global list (rank ``r``
    gets positions ``r, r + world_size, ...``) is ``sample_seed(seed, epoch, p)``.
    Arguments are those of ``DefaultSampler``.
    """

    def __iter__(self) -> Iterator[int]:
        """Iterate the indices of this rank, each a :class:`SeededIndex`."""
        return seed_rank_indices(super().__iter__(), self.seed, self.epoch, self.rank,
                                 self.world_size)


@DATA_SAMPLERS.register_module()
class SeededInfiniteSampler(InfiniteSampler):
    """``InfiniteSampler`` whose indices carry per-sample augmentation seeds.

    It has no epochs: the sample at position ``p`` of the endless global stream gets
    ``sample_seed(seed, 0, p)``. Arguments are those of ``InfiniteSampler``.
    """

    def _indices_of_rank(self) -> Iterator[int]:
        """Slice the infinite seeded indices by rank."""
        yield from seed_rank_indices(super()._indices_of_rank(), self.seed, 0, self.rank,
                                     self.world_size)
