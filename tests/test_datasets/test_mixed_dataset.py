import pytest

from smplestx.datasets import HumanDataset, MixedDataset


def test_routes_global_indices(humandata_factory):
    a, _ = humandata_factory('a.npz', num=4)
    b, _ = humandata_factory('b.npz', num=3, seed=1)
    mixed = MixedDataset([dict(type='HumanDataset', ann_file=a, dataset_name='A',
                               pipeline=[lambda r: (r['dataset_name'], r['img_id'])]),
                          HumanDataset(b, dataset_name='B', sample_interval=2,
                                       pipeline=[lambda r: (r['dataset_name'], r['img_id'])])])
    assert mixed.lengths == [4, 2] and len(mixed) == 6
    assert mixed.dataset_names == ['A', 'B']
    assert mixed.get_dataset_source(4) == (1, 0)
    assert mixed[3] == ('A', 3) and mixed[5] == ('B', 2) and mixed[-1] == ('B', 2)
    assert mixed.metainfo['dataset_names'] == ['A', 'B']
    with pytest.raises(IndexError):
        mixed.get_dataset_source(6)


def test_needs_datasets():
    with pytest.raises(ValueError, match='at least one'):
        MixedDataset([])
