import numpy as np
import pytest
from torch.utils.data import Dataset

from smplestx.datasets import MixedDataset
from smplestx.datasets.samplers import MixedDatasetSampler, dataset_quotas, stream_indices
from smplestx.registry import DATA_SAMPLERS


class _Range(Dataset):

    def __init__(self, n, name):
        self.n, self.dataset_name = n, name

    def __len__(self):
        return self.n

    def __getitem__(self, idx):
        if not 0 <= idx < self.n:
            raise IndexError(idx)
        return (self.dataset_name, idx)


def _mixed(*lengths):
    return MixedDataset([_Range(n, f'd{i}') for i, n in enumerate(lengths)])


def test_quotas():
    assert dataset_quotas([5, 100, 7]) == [100, 100, 100]
    assert dataset_quotas([5, 100, 7], total_len=10) == [4, 3, 3]
    assert dataset_quotas([5, 100, 7], 'concat') == [5, 100, 7]
    assert dataset_quotas([5, 100, 7], 'weighted', 100, [1, 2, 1]) == [25, 50, 25]
    assert sum(dataset_quotas([5, 5, 5], 'weighted', 10, [1, 1, 1])) == 10
    with pytest.raises(ValueError, match='strategy'):
        dataset_quotas([1], 'random')
    with pytest.raises(ValueError, match='weight'):
        dataset_quotas([1, 2], 'weighted', 10, [1])


def test_stream_covers_dataset_before_repeating():
    seen = np.concatenate([stream_indices(103, e * 20, 20, seed=5) for e in range(5)])
    assert len(np.unique(seen)) == 100  # 5 windows of 20 from one permutation
    full = np.concatenate([stream_indices(103, e * 20, 20, seed=5) for e in range(6)])
    assert set(full[:103].tolist()) == set(range(103))
    small = stream_indices(7, 0, 30, seed=1)
    counts = np.bincount(small, minlength=7)
    assert counts.min() >= 4 and counts.max() <= 5
    np.testing.assert_array_equal(stream_indices(10, 0, 10, 0, shuffle=False), np.arange(10))


def test_balance_visits_the_tail_of_a_large_dataset():
    ds = _mixed(1000, 10)
    sampler = MixedDatasetSampler(ds, 'balance', total_len=40, seed=0)
    assert sampler.quotas == [20, 20] and len(sampler) == 40
    seen = set()
    for epoch in range(50):
        sampler.set_epoch(epoch)
        indices = np.array(list(sampler))
        assert sampler.per_dataset_counts(indices) == {'d0': 20, 'd1': 20}
        seen |= {i for i in indices.tolist() if i < 1000}
    assert seen == set(range(1000))


def test_epochs_differ_and_are_reproducible():
    ds = _mixed(50, 30)
    a = MixedDatasetSampler(ds, seed=3)
    b = MixedDatasetSampler(ds, seed=3)
    first = list(a)
    assert first == list(b)
    a.set_epoch(1)
    assert list(a) != first
    assert all(0 <= i < 80 for i in first) and len(first) == 100


def test_concat_uses_everything_once():
    ds = _mixed(5, 8)
    sampler = MixedDatasetSampler(ds, 'concat', shuffle=False, seed=0)
    assert list(sampler) == list(range(13))
    shuffled = MixedDatasetSampler(ds, 'concat', seed=0)
    assert sorted(shuffled) == list(range(13))


def test_weighted_counts():
    ds = _mixed(100, 100, 100)
    sampler = MixedDatasetSampler(ds, 'weighted', total_len=60, weights=[3, 2, 1], seed=0)
    counts = sampler.per_dataset_counts(np.array(list(sampler)))
    assert counts == {'d0': 30, 'd1': 20, 'd2': 10}


def test_ranks_split_the_epoch():
    ds = _mixed(9, 4)
    parts = []
    for rank in range(3):
        sampler = MixedDatasetSampler(ds, 'concat', seed=0)
        sampler.rank, sampler.world_size = rank, 3
        sampler.num_samples = 5  # ceil(13 / 3)
        parts.append(list(sampler))
    assert all(len(p) == 5 for p in parts)
    assert set(sum(parts, [])) == set(range(13))


def test_empty_dataset_with_quota_is_an_error():
    with pytest.raises(ValueError, match='empty'):
        MixedDatasetSampler(_mixed(0, 4), 'balance', total_len=4, seed=0)


def test_built_from_registry():
    ds = _mixed(4, 6)
    sampler = DATA_SAMPLERS.build(dict(type='MixedDatasetSampler', strategy='balance'),
                                  default_args=dict(dataset=ds, seed=1))
    assert isinstance(sampler, MixedDatasetSampler) and len(sampler) == 12
