"""Helpers shared by the project tests: config loading and official-fixture batches."""

from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from smplestx.models.heads.smplx_transformer_head import META_KEYS, TARGET_KEYS
from smplestx.registry import MODELS
from smplestx.structures import SMPLXDataSample
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


def crops(official_io: dict) -> list:
    """The fixture images as the uint8 crops a data loader yields."""
    return [torch.from_numpy(np.round(x * 255).astype(np.uint8))
            for x in official_io['inputs/img']]


def train_samples(official_io: dict) -> list:
    """Data samples with the official training targets and masks."""
    samples = []
    for i in range(official_io['inputs/img'].shape[0]):
        gt = InstanceData()
        for key in TARGET_KEYS:
            gt.set_field(torch.from_numpy(official_io[f'train/targets/{key}'][i:i + 1]), key)
        for key in META_KEYS:
            gt.set_field(torch.from_numpy(official_io[f'train/meta_info/{key}'][i:i + 1]), key)
        samples.append(SMPLXDataSample(gt_instances=gt))
    return samples
