"""Every file under configs/ loads, and every model config builds through the registry."""

import os
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from smplestx.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
CONFIG_FILES = sorted(p for p in (REPO / 'configs').rglob('*.py'))
LEAF_CONFIGS = [p for p in CONFIG_FILES if '_base_' not in p.parts]
BIG_SIZES = ('vit-l', 'vit-h')  # built on the meta device in tests/test_models


@pytest.mark.parametrize('path', CONFIG_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_config_loads(path):
    cfg = Config.fromfile(str(path))
    assert cfg is not None


@pytest.mark.parametrize('path', [p for p in LEAF_CONFIGS if not any(
    size in p.name for size in BIG_SIZES)], ids=lambda p: p.name)
def test_leaf_config_builds_model(path, body_model_path, monkeypatch):
    cfg = Config.fromfile(str(path))
    if 'model' not in cfg:
        pytest.skip(f'{path.name} defines no model')
    assert cfg.default_scope == 'smplestx'
    monkeypatch.setenv('SMPLESTX_BODY_MODELS', str(body_model_path))
    init_default_scope('smplestx')
    model_cfg = cfg.model
    model_cfg.setdefault('init_cfg', None)
    model = MODELS.build(model_cfg)
    assert sum(p.numel() for p in model.parameters()) > 0


def test_no_banned_config_constructs():
    for path in CONFIG_FILES:
        text = path.read_text()
        assert '_delete_' not in text, path
        assert '{{_base_' not in text, path


def test_env_var_is_not_required_to_load(monkeypatch):
    monkeypatch.delenv('SMPLESTX_BODY_MODELS', raising=False)
    for path in CONFIG_FILES:
        Config.fromfile(str(path))
    assert 'SMPLESTX_BODY_MODELS' not in os.environ
