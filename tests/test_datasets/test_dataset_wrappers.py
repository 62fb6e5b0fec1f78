from mmengine.dataset import ConcatDataset as MMEngineConcatDataset
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import init_default_scope

from smplestx.datasets import ConcatDataset, HumanDataset, RepeatDataset
from smplestx.datasets.samplers import SeededIndex


def _echo(results):
    return dict(name=results['dataset_name'], sample_idx=results['sample_idx'],
                aug_seed=results.get('aug_seed'))


def test_config_names_resolve_to_the_seed_keeping_wrappers(humandata_factory):
    path, _ = humandata_factory(num=4)
    init_default_scope('smplestx')
    inner = dict(type='HumanDataset', ann_file=path, pipeline=[_echo])
    concat = MMENGINE_DATASETS.build(dict(type='ConcatDataset', datasets=[inner, inner]))
    repeat = MMENGINE_DATASETS.build(dict(type='RepeatDataset', dataset=inner, times=2))
    assert type(concat) is ConcatDataset and isinstance(concat, MMEngineConcatDataset)
    assert type(repeat) is RepeatDataset


def test_wrappers_pass_the_seed_on(humandata_factory):
    path_a, _ = humandata_factory(name='a.npz', num=4)
    path_b, _ = humandata_factory(name='b.npz', num=3)
    a = HumanDataset(path_a, dataset_name='A', pipeline=[_echo])
    b = HumanDataset(path_b, dataset_name='B', pipeline=[_echo])
    concat = ConcatDataset([a, b], ignore_keys=['dataset_name'])
    assert concat[SeededIndex(5, seed=11)] == dict(name='B', sample_idx=1, aug_seed=11)
    assert concat[SeededIndex(2, seed=12)] == dict(name='A', sample_idx=2, aug_seed=12)
    repeat = RepeatDataset(b, times=3)
    assert repeat[SeededIndex(7, seed=3)] == dict(name='B', sample_idx=1, aug_seed=3)
    # Plain indices stay plain.
    assert concat[5] == dict(name='B', sample_idx=1, aug_seed=None)
