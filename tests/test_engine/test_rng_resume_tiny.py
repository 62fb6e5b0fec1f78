"""Exact resume of the tiny SMPLest-X recipe with its random augmentation on."""

from pathlib import Path

import pytest
import torch
from mmengine.hooks import Hook

from smplestx.datasets.synthetic import make_synthetic_humandata
from smplestx.utils.cli import build_runner, load_config

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / 'configs' / 'smplestx' / 'smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'


class _RecordBatches(Hook):
    """The sample ids and the (augmented) crops of every training batch."""

    def __init__(self):
        self.seen = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        ids = [s.metainfo.get('sample_idx') for s in data_batch['data_samples']]
        self.seen.append((runner.iter, ids, torch.stack(data_batch['inputs']).clone()))


@pytest.fixture(scope='module')
def synthetic_root(tmp_path_factory, body_model_path):
    root = tmp_path_factory.mktemp('synthetic')
    make_synthetic_humandata(str(body_model_path), str(root), num=2, img_size=(256, 256),
                             seed=0)
    return root


def _train(work_dir, data_root, **cfg_updates):
    """2 epochs of 2 single-crop batches, a checkpoint after every iteration, no validation."""
    cfg = load_config(str(TINY_CONFIG))
    augment = [t for t in cfg.train_dataloader.dataset.pipeline
               if t['type'] == 'RandomSMPLXAugment']
    assert len(augment) == 1 and not augment[0].get('test_mode', False)
    assert cfg.default_hooks.rng_state == dict(type='RNGStateHook')
    cfg.work_dir = str(work_dir)
    cfg.train_dataloader.dataset.data_root = str(data_root)
    cfg.train_dataloader.batch_size = 1
    cfg.model.head.depth = 1
    cfg.train_cfg.max_epochs = 2
    cfg.param_scheduler[0].update(T_max=2, end=2)
    cfg.update(val_dataloader=None, val_cfg=None, val_evaluator=None, custom_hooks=[])
    cfg.default_hooks.checkpoint.update(by_epoch=False, interval=1, max_keep_ckpts=-1)
    cfg.update(cfg_updates)
    runner = build_runner(cfg)
    recorder = _RecordBatches()
    runner.register_hook(recorder)
    runner.train()
    return runner, recorder.seen


@pytest.fixture(scope='module')
def full_run(tmp_path_factory, synthetic_root, body_model_path):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('SMPLESTX_BODY_MODELS', str(body_model_path))
        work_dir = tmp_path_factory.mktemp('full')
        runner, seen = _train(work_dir, synthetic_root)
    return work_dir, runner, seen


@pytest.mark.parametrize('ckpt_iter', [1, 2])  # inside epoch 0; end of epoch 0
def test_resumed_tiny_training_is_bit_identical_with_augmentation(
        tmp_path, synthetic_root, body_model_path, monkeypatch, full_run, ckpt_iter):
    monkeypatch.setenv('SMPLESTX_BODY_MODELS', str(body_model_path))
    work_dir, full, full_seen = full_run
    assert full.iter == 4 and len(full_seen) == 4
    # Augmentation is on: the same sample gives another crop in the next epoch.
    by_id = {}
    for _, ids, crop in full_seen:
        by_id.setdefault(ids[0], []).append(crop)
    assert len(by_id) == 2 and all(not torch.equal(*crops) for crops in by_id.values())

    resumed, seen = _train(tmp_path, synthetic_root, resume=True,
                           load_from=str(work_dir / f'iter_{ckpt_iter}.pth'))
    assert resumed.iter == 4
    assert [(it, ids) for it, ids, _ in seen] == [(it, ids) for it, ids, _ in
                                                  full_seen[ckpt_iter:]]
    for (it, _, got), (_, _, ref) in zip(seen, full_seen[ckpt_iter:]):
        torch.testing.assert_close(got, ref, rtol=0, atol=0, msg=f'crop of iteration {it}')
    ref_state = full.model.state_dict()
    for name, value in resumed.model.state_dict().items():
        torch.testing.assert_close(value, ref_state[name], rtol=0, atol=0, msg=name)
