import pickle

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from torch.utils.data import Dataset

from smplestx.engine import SMPLestXRunner
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
