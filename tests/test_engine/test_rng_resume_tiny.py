"""Exact resume of the tiny SMPLest-X recipe with its random augmentation on.

The RNG states are restored from the checkpoint (``RNGStateHook``) and the samplers attach a
per-sample augmentation seed to every index, so the crops do not depend on which (fresh or
persistent) dataloader worker loads them, nor on the number of workers.
"""

from pathlib import Path

import pytest
import torch
from mmengine.hooks import Hook

from smplestx.datasets.samplers import SeededDefaultSampler
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
def synthetic_root(synthetic_humandata_root):
    return synthetic_humandata_root(2)


def _train(work_dir, data_root, max_epochs=2, sampler='SeededDefaultSampler', workers=2,
           **cfg_updates):
    """``max_epochs`` of 2 single-crop batches on ``workers`` persistent workers, a
    checkpoint after every iteration, no validation."""
    cfg = load_config(str(TINY_CONFIG))
    augment = [t for t in cfg.train_dataloader.dataset.pipeline
               if t['type'] == 'RandomSMPLXAugment']
    assert len(augment) == 1 and not augment[0].get('test_mode', False)
    assert cfg.default_hooks.rng_state == dict(type='RNGStateHook')
    cfg.work_dir = str(work_dir)
    cfg.train_dataloader.dataset.data_root = str(data_root)
    cfg.train_dataloader.update(batch_size=1, num_workers=workers,
                                persistent_workers=workers > 0)
    cfg.train_dataloader.sampler.type = sampler
    cfg.model.head.depth = 1
    cfg.train_cfg.max_epochs = max_epochs
    cfg.param_scheduler[0].update(T_max=max_epochs, end=max_epochs)
    cfg.update(val_dataloader=None, val_cfg=None, val_evaluator=None, custom_hooks=[])
    cfg.default_hooks.checkpoint.update(by_epoch=False, interval=1, max_keep_ckpts=-1)
    cfg.update(cfg_updates)
    runner = build_runner(cfg)
    recorder = _RecordBatches()
    runner.register_hook(recorder)
    runner.train()
    loader = runner.train_dataloader
    assert loader.num_workers == workers and loader.persistent_workers == (workers > 0)
    iterator = getattr(loader, '_iterator', None)
    if iterator is not None:  # stop the persistent workers now: at a later garbage
        iterator._shutdown_workers()  # collection their shutdown waits for timeouts
    return runner, recorder.seen


def _assert_resumed_like_full(resumed, seen, full, full_seen, start):
    assert resumed.iter == full.iter
    assert [(it, ids) for it, ids, _ in seen] == [(it, ids) for it, ids, _ in
                                                  full_seen[start:]]
    for (it, _, got), (_, _, ref) in zip(seen, full_seen[start:]):
        torch.testing.assert_close(got, ref, rtol=0, atol=0, msg=f'crop of iteration {it}')
    ref_state = full.model.state_dict()
    for name, value in resumed.model.state_dict().items():
        torch.testing.assert_close(value, ref_state[name], rtol=0, atol=0, msg=name)


@pytest.fixture(scope='module')
def full_run(tmp_path_factory, synthetic_root, body_model_path):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('SMPLESTX_BODY_MODELS', str(body_model_path))
        work_dir = tmp_path_factory.mktemp('full')
        runner, seen = _train(work_dir, synthetic_root)
    assert type(runner.train_dataloader.sampler) is SeededDefaultSampler
    return work_dir, runner, seen


@pytest.mark.parametrize('ckpt_iter,workers', [
    (1, 2),  # inside epoch 0
    (2, 2),  # end of epoch 0
    (3, 2),  # inside epoch 1 (the full run's workers have run through epoch 0)
    (1, 0),  # the resumed run loads in the main process
    (2, 0),
])
def test_resumed_tiny_training_is_bit_identical_with_augmentation(
        tmp_path, synthetic_root, body_model_path, monkeypatch, full_run, ckpt_iter, workers):
    monkeypatch.setenv('SMPLESTX_BODY_MODELS', str(body_model_path))
    work_dir, full, full_seen = full_run
    assert full.iter == 4 and len(full_seen) == 4
    # Augmentation is on: the same sample gives another crop in the next epoch.
    by_id = {}
    for _, ids, crop in full_seen:
        by_id.setdefault(ids[0], []).append(crop)
    assert len(by_id) == 2 and all(not torch.equal(*crops) for crops in by_id.values())
    resumed, seen = _train(tmp_path, synthetic_root, workers=workers, resume=True,
                           load_from=str(work_dir / f'iter_{ckpt_iter}.pth'))
    _assert_resumed_like_full(resumed, seen, full, full_seen, ckpt_iter)


def test_without_seeded_indices_the_resumed_crops_differ(
        tmp_path, synthetic_root, body_model_path, monkeypatch):
    """MMEngine's own sampler: the fresh worker that loads the resumed batch draws the
    augmentation of another one (what the seeded samplers fix)."""
    monkeypatch.setenv('SMPLESTX_BODY_MODELS', str(body_model_path))
    _, full_seen = _train(tmp_path / 'full', synthetic_root, max_epochs=1,
                          sampler='mmengine.DefaultSampler')
    _, seen = _train(tmp_path / 'resumed', synthetic_root, max_epochs=1,
                     sampler='mmengine.DefaultSampler', resume=True,
                     load_from=str(tmp_path / 'full' / 'iter_1.pth'))
    assert [ids for _, ids, _ in seen] == [ids for _, ids, _ in full_seen[1:]]
    assert not torch.equal(seen[0][2], full_seen[1][2])
