import errno
import logging
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from torch.utils.data import Dataset

from smplestx.engine import SMPLestXRunner
from smplestx.testing.damage import damaged_copy
from smplestx.utils.checkpoint import UnsafeCheckpointError, mmengine_safe_globals


class _ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        inputs = torch.stack(inputs) if isinstance(inputs, list) else inputs
        out = self.linear(inputs)
        if mode == 'loss':
            return {'loss': out.pow(2).mean()}
        return out


class _ToyData(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, idx):
        return dict(inputs=torch.full((2, ), float(idx)))


def _runner(work_dir, **kwargs):
    return SMPLestXRunner(
        model=_ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=_ToyData(), sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=2, num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-2)),
        param_scheduler=dict(type='CosineAnnealingLR', T_max=8, by_epoch=False),
        train_cfg=dict(by_epoch=False, max_iters=kwargs.pop('max_iters', 4)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2,
                                           by_epoch=False)),
        randomness=dict(seed=0),
        default_scope='smplestx',
        **kwargs)


def test_resume_continues_exactly_with_weights_only_loading(tmp_path):
    full = _runner(tmp_path / 'full', max_iters=4)
    full.train()
    ckpt = tmp_path / 'full' / 'iter_2.pth'
    # Plain weights_only loading fails on MMEngine's meta (the bug being fixed) ...
    with pytest.raises(pickle.UnpicklingError):
        torch.load(ckpt, weights_only=True)
    # ... while the runner resumes through the allowlist and loses nothing.
    resumed = _runner(tmp_path / 'resumed', max_iters=4, resume=True, load_from=str(ckpt))
    resumed.train()
    assert resumed.iter == 4
    ref = torch.load(tmp_path / 'full' / 'iter_4.pth', weights_only=False)
    got = torch.load(tmp_path / 'resumed' / 'iter_4.pth', weights_only=False)
    for key, value in ref['state_dict'].items():
        torch.testing.assert_close(got['state_dict'][key], value, rtol=0, atol=0)
    assert got['param_schedulers'] == ref['param_schedulers']
    ref_state = ref['optimizer']['state']
    for idx, state in got['optimizer']['state'].items():
        for name, value in state.items():
            torch.testing.assert_close(value, ref_state[idx][name], rtol=0, atol=0)
    assert got['optimizer']['param_groups'][0]['lr'] == ref['optimizer']['param_groups'][0]['lr']


class _Evil:

    def __reduce__(self):
        return (print, ('pwned', ))


def test_unknown_global_is_refused_with_its_name(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': {'x': _Evil()}}, path)
    with pytest.raises(UnsafeCheckpointError, match='print'):
        with mmengine_safe_globals(str(path)):
            torch.load(path, weights_only=True)


def test_allowlist_accepts_numpy_meta(tmp_path):
    path = tmp_path / 'np.pth'
    torch.save({'meta': {'a': np.arange(3), 's': np.float64(1.5)}}, path)
    with mmengine_safe_globals(str(path)):
        out = torch.load(path, weights_only=True)
    assert out['meta']['s'] == 1.5


def _train_logged(runner):
    """Train and return the runner's log lines."""
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    runner.logger.addHandler(handler)
    try:
        runner.train()
    finally:
        runner.logger.removeHandler(handler)
    return '\n'.join(lines)


def test_resume_without_a_checkpoint_says_so_and_starts_from_scratch(tmp_path):
    runner = _runner(tmp_path / 'empty', max_iters=2, resume=True)
    log = _train_logged(runner)
    assert f'no checkpoint to resume in {tmp_path / "empty"}; starting from scratch' in log
    assert 'Auto resumed from the latest checkpoint None' not in log
    assert runner.iter == 2


@pytest.mark.parametrize('damage', ['truncated', 'flipped', 'missing', 'empty pointer'])
def test_resume_falls_back_to_the_newest_whole_checkpoint(tmp_path, damage):
    work_dir = tmp_path / 'run'
    _runner(work_dir, max_iters=4).train()  # iter_2.pth, iter_4.pth; last_checkpoint -> 4
    last = work_dir / 'iter_4.pth'
    if damage == 'missing':
        last.unlink()
    elif damage == 'empty pointer':
        (work_dir / 'last_checkpoint').write_text('')
        os.replace(work_dir / 'iter_4.pth', work_dir / 'iter_4.pth.bak')
    else:
        damaged_copy(last, tmp_path / 'bad.pth', flip=4096 if damage == 'flipped' else 0,
                     keep=0.6 if damage == 'truncated' else 1.0)
        os.replace(tmp_path / 'bad.pth', last)
    partial = work_dir / '.iter_6.pth.k2j4x9_a.pth'  # a save killed half-way
    partial.write_bytes(b'PK\x03\x04 half')
    best = work_dir / '.best_mpvpe_all_iter_4.pth.3x_9kq1z.pth'  # of a save_best checkpoint
    best.write_bytes(b'PK\x03\x04 half')
    (work_dir / 'notes.pth.txt').write_text('not a checkpoint: kept')
    resumed = _runner(work_dir, max_iters=6, resume=True)
    log = _train_logged(resumed)
    assert not partial.exists() and not best.exists()
    assert (work_dir / 'notes.pth.txt').exists()
    if damage == 'empty pointer':
        assert f'{work_dir / "last_checkpoint"} is empty; falling back' in log
    else:
        assert f'cannot resume from {last}: ' in log
    assert f'resuming from {work_dir / "iter_2.pth"}' in log
    assert resumed.iter == 6
    meta = torch.load(work_dir / 'iter_6.pth', weights_only=False)['meta']
    assert meta['iter'] == 6


def test_resuming_a_longer_training_says_the_schedule_is_the_checkpoints(tmp_path):
    """MMEngine restores the schedulers' lengths: a resumed run with more iterations keeps
    the old schedule, and the learning rate stays at its final value; this is said."""
    work_dir = tmp_path / 'run'
    _runner(work_dir, max_iters=4).train()
    same = _train_logged(_runner(work_dir, max_iters=4, resume=True))
    assert 'resumed from' not in same
    longer = _runner(work_dir, max_iters=6, resume=True)
    lrs = []
    longer.register_hook(_LearningRateRecorder(lrs))
    log = _train_logged(longer)
    assert (f'resumed from {work_dir / "iter_4.pth"}: every param_scheduler ends by iteration '
            f'4 of 6: the parameter stays at its final value for the rest of training (the '
            f'resumed schedulers keep the lengths saved in the checkpoint') in log
    assert len(lrs) == 2 and lrs[0] == lrs[1]  # the warning is true


class _LearningRateRecorder(Hook):

    def __init__(self, lrs):
        self.lrs = lrs

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.lrs.append(runner.optim_wrapper.get_lr()['lr'][0])


def test_a_failed_checkpoint_save_leaves_no_partial_file(tmp_path, monkeypatch):
    """Disk full during the second save: one clear error, the first checkpoint intact."""
    from mmengine.fileio.backends.local_backend import LocalBackend

    from smplestx.engine.runner import CheckpointSaveError

    real_put, calls = LocalBackend.put, []

    def put_until_disk_full(self, obj, filepath):
        calls.append(filepath)
        if len(calls) < 2:
            return real_put(self, obj, filepath)
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 3])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), filepath)

    monkeypatch.setattr(LocalBackend, 'put', put_until_disk_full)
    work_dir = tmp_path / 'full'
    with pytest.raises(CheckpointSaveError) as info:
        _runner(work_dir, max_iters=4).train()
    assert str(info.value).startswith(f'could not save checkpoint {work_dir / "iter_4.pth"}: '
                                      f'No space left on device; nothing was written there')
    written = sorted(p.name for p in work_dir.iterdir() if p.suffix != '.py' and p.is_file())
    assert written == ['iter_2.pth', 'last_checkpoint']
    assert (work_dir / 'last_checkpoint').read_text() == str(work_dir / 'iter_2.pth')
    torch.load(work_dir / 'iter_2.pth', weights_only=False)


def test_load_from_a_damaged_checkpoint_is_refused(tmp_path):
    from smplestx.utils.checkpoint_integrity import CorruptCheckpointError

    _runner(tmp_path / 'run', max_iters=2).train()
    bad = damaged_copy(tmp_path / 'run' / 'iter_2.pth', tmp_path / 'bad.pth')
    runner = _runner(tmp_path / 'load', max_iters=2, load_from=bad)
    with pytest.raises(CorruptCheckpointError, match=f'{bad} is (damaged|incomplete)'):
        runner.train()


class _Allocation:
    """Pickles as ``bytes(10)``: a call the allowlist must refuse."""

    def __reduce__(self):
        return (bytes, (10, ))


def test_an_empty_history_buffer_loads_and_other_bytes_calls_are_refused(tmp_path):
    """Protocol 2 pickles ``b''`` (an empty numpy array's data) as ``bytes()``."""
    from mmengine.logging import HistoryBuffer

    torch.save({'meta': {'empty': HistoryBuffer()}}, tmp_path / 'empty.pth')
    with mmengine_safe_globals(str(tmp_path / 'empty.pth')):
        loaded = torch.load(tmp_path / 'empty.pth', weights_only=True)
    assert loaded['meta']['empty'].data[0].size == 0
    torch.save({'meta': _Allocation()}, tmp_path / 'alloc.pth')
    with pytest.raises(UnsafeCheckpointError, match=r'alloc.pth: it contains a call '
                       r'bytes\(10,\), which is not in smplestx'):
        with mmengine_safe_globals(str(tmp_path / 'alloc.pth')):
            torch.load(tmp_path / 'alloc.pth', weights_only=True)
