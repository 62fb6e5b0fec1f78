from types import SimpleNamespace

import pytest

from smplestx.datasets.samplers import InferenceSampler, balance_units


def test_every_unit_goes_to_one_bin_balanced():
    weights = [300, 20, 1, 1, 1, 64, 64, 7, 250]
    for bins in (1, 2, 3, 8, 20):
        assigned = balance_units(weights, bins)
        flat = sorted(u for units in assigned for u in units)
        assert flat == list(range(len(weights)))  # once each, no padding
        assert all(units == sorted(units) for units in assigned)
        loads = [sum(weights[u] for u in units) for units in assigned]
        # Longest first: no bin exceeds the best possible by more than the largest unit.
        assert max(loads) <= max(sum(weights) / bins, 0) + max(weights)
    assert balance_units(weights, 2) == [[0, 6], [1, 2, 3, 4, 5, 7, 8]]  # 364 and 344
    assert balance_units([5, 5], 3) == [[0], [1], []]  # fewer units than processes
    with pytest.raises(ValueError):
        balance_units([1], 0)


def test_sampler_gives_each_rank_whole_units_in_order():
    dataset = SimpleNamespace(unit_weights=lambda: [10, 1, 1, 8],
                              unit_clips=[[0, 1], [2], [3], [4, 5, 6]])
    per_rank = [list(InferenceSampler(dataset, rank=r, world_size=2)) for r in range(2)]
    assert per_rank == [[0, 1], [2, 3, 4, 5, 6]]
    assert sorted(i for r in per_rank for i in r) == list(range(7))
    idle = InferenceSampler(dataset, rank=4, world_size=5)
    assert list(idle) == [] and len(idle) == 0
    assert list(InferenceSampler(dataset)) == list(range(7))  # one process
