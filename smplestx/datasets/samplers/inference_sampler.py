"""Sampler of inference: whole units per process, balanced by frame count, no padding."""

import heapq
from typing import Iterator, List, Optional, Sequence

from mmengine.dist import get_dist_info
from torch.utils.data import Sampler

from smplestx.registry import DATA_SAMPLERS


def balance_units(weights: Sequence[int], num_bins: int) -> List[List[int]]:
    """Assign units to bins so that the bins' total weights are close.

    Longest first: units in decreasing weight (ties: lower index first) each go to the
    bin with the smallest total so far (ties: the lower bin). Deterministic; every unit
    goes to exactly one bin, and a bin may stay empty when there are fewer units than
    bins. Each bin lists its units in increasing index order.

    Args:
        weights: Weight (e.g. frames) of each unit.
        num_bins: Number of bins (processes).

    Returns:
        The unit indices of each bin.
    """
    if num_bins < 1:
        raise ValueError(f'num_bins must be >= 1, got {num_bins}')
    heap = [(0, b) for b in range(num_bins)]
    bins: List[List[int]] = [[] for _ in range(num_bins)]
    for unit in sorted(range(len(weights)), key=lambda u: (-weights[u], u)):
        load, b = heapq.heappop(heap)
        bins[b].append(unit)
        heapq.heappush(heap, (load + max(int(weights[unit]), 0), b))
    return [sorted(units) for units in bins]


@DATA_SAMPLERS.register_module()
class InferenceSampler(Sampler):
    """Gives each process whole units of a :class:`~smplestx.datasets.MediaDataset`.

    A unit (a video, an image, a part of a folder) goes to exactly one process, so that
    the process that reads it also writes its files; units are balanced by their frame
    counts (:func:`balance_units`). Nothing is padded or repeated, and a process may get
    nothing. Each process reads its units in input order, and each unit's clips in frame
    order (what sequential video decoding and per-video tracking need).

    Args:
        dataset: The dataset (needs ``unit_weights()`` and ``unit_clips``).
        seed: Unused (MMEngine passes it to every sampler).
        rank: This process; from the process group by default.
        world_size: Number of processes; from the process group by default.
    """

    def __init__(self, dataset, seed: Optional[int] = None, rank: Optional[int] = None,
                 world_size: Optional[int] = None) -> None:
        dist_rank, dist_world = get_dist_info()
        self.rank = dist_rank if rank is None else rank
        self.world_size = dist_world if world_size is None else world_size
        self.dataset = dataset
        self.units = balance_units(dataset.unit_weights(), self.world_size)[self.rank]
        self.indices = [i for u in self.units for i in dataset.unit_clips[u]]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)

    def set_epoch(self, epoch: int) -> None:
        """Nothing changes with the epoch."""
