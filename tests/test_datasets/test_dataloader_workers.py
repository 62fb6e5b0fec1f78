"""A two-worker DataLoader over the synthetic set feeds the tiny model's loss mode."""

from functools import partial
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate, worker_init_fn
from torch.utils.data import DataLoader

from smplestx.registry import DATASETS, MODELS

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / 'configs' / 'smplestx' / 'smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'
PIPELINES = REPO / 'configs' / '_base_' / 'datasets' / 'humandata_pipelines.py'


def _train_set(synthetic_humandata, body_model_path):
    path, root = synthetic_humandata
    pipeline = Config.fromfile(str(PIPELINES)).to_dict()['humandata_train_pipeline']
    for step in pipeline:
        if step['type'] == 'GenerateSMPLXTargets':
            step['body_model_dir'] = str(body_model_path)
    return DATASETS.build(dict(type='HumanDataset', ann_file=path,
                               data_prefix=dict(img_path=root), camera_from_meta=True,
                               test_mode=False, pipeline=pipeline))


def test_two_workers_feed_loss(synthetic_humandata, body_model_path):
    if not TINY.exists():
        pytest.skip(f'{TINY.name} not found')
    cfg = Config.fromfile(str(TINY))
    cfg.model.head.body_model.body_model_dir = str(body_model_path)
    model = MODELS.build(cfg.model)
    dataset = _train_set(synthetic_humandata, body_model_path)
    loader = DataLoader(dataset, batch_size=2, num_workers=2, collate_fn=pseudo_collate,
                        shuffle=False, drop_last=False,
                        worker_init_fn=partial(worker_init_fn, num_workers=2, rank=0,
                                               seed=2023))
    seen = 0
    for batch in loader:
        assert len(batch['inputs']) == len(batch['data_samples'])
        data = model.data_preprocessor(batch, True)
        assert data['inputs'].shape[-2:] == (256, 192)  # 512x384 crop, stride 2
        losses = model(**data, mode='loss')
        assert losses and all(k.startswith('loss_') for k in losses)
        for name, value in losses.items():
            assert torch.isfinite(value).all(), name
        seen += len(batch['data_samples'])
    assert seen == len(dataset)
