"""The packed HumanData samples feed the SMPLest-X model's loss and predict modes."""

from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from smplestx.registry import DATASETS, MODELS

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / 'configs' / 'smplestx' / 'smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'
PIPELINES = REPO / 'configs' / '_base_' / 'datasets' / 'humandata_pipelines.py'


@pytest.fixture(scope='module')
def tiny_model(body_model_path):
    if not TINY.exists():
        pytest.skip(f'{TINY.name} not found')
    cfg = Config.fromfile(str(TINY))
    cfg.model.head.body_model.body_model_dir = str(body_model_path)
    return MODELS.build(cfg.model)


def _dataset(synthetic_humandata, body_model_path, pipeline, test_mode):
    path, root = synthetic_humandata
    for step in pipeline:
        if step['type'] == 'GenerateSMPLXTargets':
            step['body_model_dir'] = str(body_model_path)
    return DATASETS.build(dict(type='HumanDataset', ann_file=path,
                               data_prefix=dict(img_path=root), camera_from_meta=True,
                               test_mode=test_mode, pipeline=pipeline))


def test_loss_and_predict(tiny_model, synthetic_humandata, body_model_path):
    pipes = Config.fromfile(str(PIPELINES)).to_dict()
    train = _dataset(synthetic_humandata, body_model_path, pipes['humandata_train_pipeline'],
                     False)
    data = tiny_model.data_preprocessor(pseudo_collate([train[0], train[1]]), True)
    losses = tiny_model(**data, mode='loss')
    assert losses and all(k.startswith('loss_') for k in losses)
    assert all(torch.isfinite(v).all() for v in losses.values())
    test = _dataset(synthetic_humandata, body_model_path, pipes['humandata_test_pipeline'],
                    True)
    tiny_model.eval()
    with torch.no_grad():
        out = tiny_model.test_step(pseudo_collate([test[0]]))
    pred, gt = out[0].pred_instances, out[0].gt_instances
    assert gt.smplx_mesh_cam.shape[-2:] == pred.vertices.shape[-2:]
