"""Benchmark presets (configs/_base_/evaluation) and the test configs built on them."""

import inspect
from pathlib import Path

import pytest
import scipy.sparse as sp
from mmengine.config import Config
from mmengine.registry import init_default_scope

from smplestx.datasets import HumanDataset
from smplestx.registry import DATASETS, METRICS

REPO = Path(__file__).resolve().parents[2]
EVAL_DIR = REPO / 'configs' / '_base_' / 'evaluation'
DATA_DIR = REPO / 'configs' / '_base_' / 'datasets'
LEAF_DIR = REPO / 'configs' / 'smplestx'

#: preset file -> {benchmark name: the dataset preset it evaluates (file, variable)}.
PRESETS = {
    'ehf': {'ehf': ('ehf', 'ehf_test')},
    'agora': {'agora_val': ('agora', 'agora_val'), 'agora_test': None},
    'ubody': {'ubody': ('ubody', 'ubody_test')},
    'egobody': {'egobody': ('egobody', 'egobody_egocentric_test')},
    'arctic': {'arctic': ('arctic', 'arctic_test')},
    'pw3d': {'pw3d': ('pw3d', 'pw3d_test')},
    'synhand': {'synhand': ('synhand', 'synhand_test')},
    'bedlam': {'bedlam': ('bedlam', 'bedlam_val')},
    'synthetic': {'synthetic': ('synthetic', 'synthetic_test')},
}
#: leaf test config -> (preset file, benchmark, leaf overrides of the dataloader).
LEAVES = {
    'smplestx_vit-h_test-ehf-256x192.py': ('ehf', 'ehf', {}),
    'smplestx_vit-h_test-agora-val-256x192.py': ('agora', 'agora_val', {}),
    'smplestx_vit-h_test-agora-test-256x192.py': ('agora', 'agora_test', {}),
    'smplestx_vit-h_test-ubody-256x192.py': ('ubody', 'ubody', {}),
    'smplestx_vit-h_test-egobody-256x192.py': ('egobody', 'egobody', {}),
    'smplestx_vit-h_test-arctic-256x192.py': ('arctic', 'arctic', {}),
    'smplestx_vit-h_test-pw3d-256x192.py': ('pw3d', 'pw3d', {}),
    'smplestx_vit-h_test-synhand-256x192.py': ('synhand', 'synhand', {}),
    'smplestx_vit-h_test-bedlam-256x192.py': ('bedlam', 'bedlam', {}),
    'smplestx_vit-tiny_test-synthetic-256x192.py':
        ('synthetic', 'synthetic', dict(batch_size=2, num_workers=0, persistent_workers=False)),
}
BENCHMARKS = [(f, b) for f, benches in PRESETS.items() for b in benches]


def _load(path):
    return Config.fromfile(str(path))


def _preset(name):
    return _load(EVAL_DIR / f'{name}.py')


def test_every_preset_and_test_config_is_listed():
    files = {p.stem for p in EVAL_DIR.glob('*.py')} - {'humandata_eval'}
    assert files == set(PRESETS)
    leaves = {p.name for p in LEAF_DIR.glob('*_test-*.py')}
    assert leaves == set(LEAVES)


@pytest.mark.parametrize('name', sorted(PRESETS))
def test_preset_states_its_protocol_and_defines_its_pairs(name):
    text = (EVAL_DIR / f'{name}.py').read_text()
    header = text.split('_base_')[0]
    assert header.startswith('# ') and 'Data:' in header and 'Metrics' in header, name
    cfg = _preset(name)
    for bench in PRESETS[name]:
        assert f'{bench}_eval_dataloader' in cfg and f'{bench}_evaluator' in cfg


def test_eval_humandata_spells_out_every_dataset_option():
    cfg = _preset('synthetic')
    defaults = cfg.eval_humandata.to_dict()
    params = inspect.signature(HumanDataset.__init__).parameters
    assert set(defaults) - {'type'} == set(params) - {'self'}
    differ = {'ann_file', 'data_root', 'data_prefix', 'pipeline', 'test_mode'}
    for key, param in params.items():
        if key not in differ | {'self'}:
            assert defaults[key] == param.default, key
    assert defaults['test_mode'] is True


def test_eval_pipeline_is_the_humandata_test_pipeline():
    cfg = _preset('ehf')
    pipelines = _load(DATA_DIR / 'humandata_pipelines.py')
    assert cfg.eval_pipeline == pipelines.humandata_test_pipeline
    assert cfg.eval_bbox_ratio == pipelines.humandata_bbox_ratio
    no_gt = [t['type'] for t in cfg.eval_pipeline_no_gt]
    assert no_gt == [t['type'] for t in cfg.eval_pipeline if t['type'] != 'GenerateSMPLXTargets']


@pytest.mark.parametrize('name,bench', BENCHMARKS, ids=[b for _, b in BENCHMARKS])
def test_preset_dataset_matches_the_dataset_preset(name, bench):
    cfg = _preset(name)
    loader = cfg[f'{bench}_eval_dataloader']
    dataset = loader.dataset
    assert loader.sampler == dict(type='DefaultSampler', shuffle=False)
    assert loader.drop_last is False
    assert dataset.test_mode is True
    source = PRESETS[name][bench]
    if source is None:  # AGORA test: boxes only, no targets
        assert all(t['type'] != 'GenerateSMPLXTargets' for t in dataset.pipeline)
        return
    assert dataset.pipeline == cfg.eval_pipeline
    reference = _load(DATA_DIR / f'{source[0]}.py')[source[1]]
    for key, value in reference.items():
        assert dataset[key] == value, f'{bench}: {key}'


@pytest.mark.parametrize('name,bench', BENCHMARKS, ids=[b for _, b in BENCHMARKS])
def test_preset_dataset_and_evaluator_build(name, bench, body_model_path, tmp_path):
    init_default_scope('smplestx')
    cfg = _preset(name)
    dataset = DATASETS.build(dict(cfg[f'{bench}_eval_dataloader'].dataset, lazy_init=True))
    assert isinstance(dataset, HumanDataset)
    evaluator = cfg[f'{bench}_evaluator'].to_dict()
    evaluator['body_model_dir'] = str(body_model_path)
    if evaluator['type'] == 'SMPLMeshMetric':  # the fixtures have no smplx2smpl.pkl
        evaluator['smplx2smpl'] = sp.eye(6890, 10475, format='csr')
    if evaluator['type'] == 'AGORASubmission':
        evaluator['out_dir'] = str(tmp_path)
    metric = METRICS.build(evaluator)
    assert type(metric).__name__ == evaluator['type']


@pytest.mark.parametrize('leaf', sorted(LEAVES))
def test_test_config_takes_the_preset_unchanged(leaf):
    name, bench, overrides = LEAVES[leaf]
    cfg = _load(LEAF_DIR / leaf)
    preset = _preset(name)
    expected = dict(preset[f'{bench}_eval_dataloader'].to_dict(), **overrides)
    # Nothing of the model config's own test set leaks into the merged dicts.
    assert cfg.test_dataloader.to_dict() == expected
    assert cfg.test_evaluator.to_dict() == preset[f'{bench}_evaluator'].to_dict()
    assert cfg.test_cfg == dict(type='TestLoop')
    assert 'model' in cfg
