"""Seeded indices: per-sample augmentation seeds from the samplers, through the datasets."""

import pickle

import numpy as np
import pytest
from mmengine.dataset import DefaultSampler, InfiniteSampler
from mmengine.registry import DefaultScope
from torch.utils.data import Dataset

from smplestx.datasets import MixedDataset
from smplestx.datasets.samplers import (
    MixedDatasetSampler,
    SeededDefaultSampler,
    SeededIndex,
    SeededInfiniteSampler,
    index_seed,
    sample_seed,
    with_seed,
)
from smplestx.registry import DATA_SAMPLERS


class _Seeds(Dataset):
    """Returns ``(name, index, seed carried by the index)``."""

    def __init__(self, n, name='d'):
        self.n, self.name = n, name

    def __len__(self):
        return self.n

    def __getitem__(self, idx):
        return self.name, int(idx), index_seed(idx)


def _with_ranks(sampler, rank, world_size):
    """Simulate ``rank`` of ``world_size`` (as set by ``get_dist_info`` in __init__)."""
    sampler.rank, sampler.world_size = rank, world_size
    if hasattr(sampler, 'num_samples') and hasattr(sampler, 'total_size'):
        sampler.num_samples = -(-len(sampler.dataset) // world_size)
        sampler.total_size = sampler.num_samples * world_size
    return sampler


def test_seeded_index_behaves_like_its_int_and_keeps_the_seed_through_pickle():
    idx = SeededIndex(3, seed=2**63 + 5)
    assert idx == 3 and hash(idx) == hash(3) and repr(idx) == '3'
    assert [10, 11, 12, 13][idx] == 13 and np.arange(5)[idx] == 3
    assert {3: 'x'}[idx] == 'x' and np.array([idx, SeededIndex(1, 0)]).dtype == np.int64
    back = pickle.loads(pickle.dumps(idx))
    assert type(back) is SeededIndex and back == 3 and back.seed == 2**63 + 5
    assert type(idx + 1) is int and index_seed(idx - 3) is None  # arithmetic drops the seed
    assert index_seed(idx) == 2**63 + 5 and index_seed(3) is None
    assert type(with_seed(np.int64(4), None)) is int and with_seed(4, 9).seed == 9


def test_sample_seed_depends_on_seed_epoch_and_position():
    base = sample_seed(0, 0, 0)
    assert base == sample_seed(0, 0, 0) and 0 <= base < 2**64
    others = {sample_seed(1, 0, 0), sample_seed(0, 1, 0), sample_seed(0, 0, 1),
              sample_seed(-1, 0, 0)}
    assert base not in others and len(others) == 4


@pytest.mark.parametrize('shuffle', [True, False])
def test_default_sampler_yields_mmengine_indices_with_positional_seeds(shuffle):
    data = _Seeds(7)
    ours = SeededDefaultSampler(data, shuffle=shuffle, seed=4)
    ref = DefaultSampler(data, shuffle=shuffle, seed=4)
    for epoch in (0, 1):
        ours.set_epoch(epoch)
        ref.set_epoch(epoch)
        got = list(ours)
        assert got == list(ref) and all(type(i) is SeededIndex for i in got)
        assert [i.seed for i in got] == [sample_seed(4, epoch, p) for p in range(7)]


def test_default_sampler_seeds_do_not_depend_on_the_number_of_processes():
    """Rank r gets positions r, r + world_size, ...: the (index, seed) pairs of the global
    list are those of one process; padded repeats get seeds of their own."""
    data = _Seeds(7)
    single = [(int(i), i.seed) for i in SeededDefaultSampler(data, seed=1)]
    ranks = [list(_with_ranks(SeededDefaultSampler(data, seed=1), r, 3)) for r in range(3)]
    merged = [(int(i), i.seed) for p in range(9) for i in [ranks[p % 3][p // 3]]]
    assert merged[:7] == single
    assert merged[7][0] == single[0][0] and merged[7][1] != single[0][1]  # padding


def test_infinite_sampler_yields_mmengine_indices_with_positional_seeds():
    data = _Seeds(4)
    ours = iter(SeededInfiniteSampler(data, seed=2))
    ref = iter(InfiniteSampler(data, seed=2))
    got = [next(ours) for _ in range(10)]
    assert got == [next(ref) for _ in range(10)]
    assert [i.seed for i in got] == [sample_seed(2, 0, p) for p in range(10)]
    rank1 = iter(_with_ranks(SeededInfiniteSampler(data, seed=2), 1, 2))
    assert [next(rank1).seed for _ in range(3)] == [got[1].seed, got[3].seed, got[5].seed]


def test_mixed_sampler_seeds_every_position_and_mixed_dataset_passes_them_on():
    data = MixedDataset([_Seeds(3, 'a'), _Seeds(10, 'b')])
    sampler = MixedDatasetSampler(data, 'balance', total_len=12, seed=5)
    sampler.set_epoch(2)
    indices = list(sampler)
    assert [int(i) for i in indices] == sampler.epoch_indices(2).tolist()
    assert [i.seed for i in indices] == [sample_seed(5, 2, p) for p in range(12)]
    samples = [data[i] for i in indices]
    assert [s[2] for s in samples] == [i.seed for i in indices]
    assert all(type(s[1]) is int for s in samples)
    # Dataset 'a' (3 samples, quota 6) is repeated within the epoch with other seeds.
    a_seeds = [s[2] for s in samples if s[0] == 'a']
    assert len(a_seeds) == 6 and len(set(a_seeds)) == 6
    assert data[4][2] is None  # a plain index has no seed


def test_registry_builds_the_seeded_samplers_by_name_and_leaves_mmengines_alone():
    data = _Seeds(3)
    with DefaultScope.overwrite_default_scope('smplestx'):
        built = DATA_SAMPLERS.build(dict(type='SeededDefaultSampler'), default_args=dict(
            dataset=data, seed=0))
        infinite = DATA_SAMPLERS.build(dict(type='SeededInfiniteSampler', seed=0),
                                       default_args=dict(dataset=data))
        plain = DATA_SAMPLERS.build(dict(type='DefaultSampler'), default_args=dict(
            dataset=data, seed=0))
    assert type(built) is SeededDefaultSampler and isinstance(built, DefaultSampler)
    assert type(infinite) is SeededInfiniteSampler
    assert type(plain) is DefaultSampler and index_seed(next(iter(plain))) is None
