import shutil
from pathlib import Path

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch.utils.flop_counter import FlopCounterMode

from smplestx.registry import MODELS
from smplestx.utils.metafile import validate_model_index

REPO = Path(__file__).resolve().parents[2]


def _models():
    data = yaml.safe_load((REPO / 'configs/smplestx/metafile.yml').read_text())
    return data['Models']


def test_repository_model_index_is_valid():
    assert validate_model_index(str(REPO / 'model-index.yml')) == []


def _copy_repo_index(tmp_path, edit):
    root = tmp_path / 'repo'
    (root / 'configs/smplestx').mkdir(parents=True)
    shutil.copy(REPO / 'model-index.yml', root / 'model-index.yml')
    shutil.copytree(REPO / 'configs/_base_', root / 'configs/_base_')
    for path in (REPO / 'configs/smplestx').iterdir():
        shutil.copy(path, root / 'configs/smplestx' / path.name)
    meta = yaml.safe_load((root / 'configs/smplestx/metafile.yml').read_text())
    edit(meta)
    (root / 'configs/smplestx/metafile.yml').write_text(yaml.safe_dump(meta))
    return root / 'model-index.yml'


def test_validator_fails_on_missing_config_path(tmp_path):
    def edit(meta):
        meta['Models'][0]['Config'] = 'configs/smplestx/does_not_exist.py'
    problems = validate_model_index(str(_copy_repo_index(tmp_path, edit)))
    assert any('does_not_exist.py does not exist' in p for p in problems), problems


def test_validator_fails_on_unknown_metric_name(tmp_path):
    def edit(meta):
        meta['Models'][0]['Results'][0]['Metrics']['PVE-Alll'] = 1.0
    problems = validate_model_index(str(_copy_repo_index(tmp_path, edit)))
    assert any("unknown metric name 'PVE-Alll'" in p for p in problems), problems


@pytest.mark.parametrize('model', _models(), ids=lambda m: m['Name'])
def test_parameters_and_flops_are_the_measured_ones(model):
    """Metadata numbers equal what the config's network really has (built on meta)."""
    cfg = Config.fromfile(str(REPO / model['Config']))
    init_default_scope('smplestx')
    head_cfg = dict(cfg.model.head, body_model=None, loss=None)
    with torch.device('meta'):
        backbone = MODELS.build(cfg.model.backbone)
        head = MODELS.build(head_cfg)
        params = sum(p.numel() for p in [*backbone.parameters(), *head.parameters()])
        with FlopCounterMode(display=False) as counter:
            head(backbone(torch.zeros(1, 3, 256, 192)))
    assert model['Metadata']['Parameters'] == params
    assert model['Metadata']['FLOPs'] == counter.get_total_flops()
