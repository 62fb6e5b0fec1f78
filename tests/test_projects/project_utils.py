"""Helpers shared by the project tests: config loading and official-fixture batches."""

from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from smplestx.registry import MODELS
from smplestx.testing.fixtures import REPO_ROOT
from smplestx.utils.cli import load_config

PROJECTS = Path(REPO_ROOT) / 'projects'


def project_config(relpath: str, body_model_path: Path) -> Config:
    """Load a project config from the repository root with the fixture body model."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO_ROOT)
        cfg = load_config(str(PROJECTS / relpath))
    cfg.model.head.body_model.body_model_dir = str(body_model_path)
    return cfg


def build_model(cfg: Config, seed: int = 0) -> torch.nn.Module:
    """Build ``cfg.model`` through the registry."""
    init_default_scope('smplestx')
    torch.manual_seed(seed)
    return MODELS.build(cfg.model)
