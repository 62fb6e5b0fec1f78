import pytest
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from torch.utils.data import Dataset

from smplestx.engine import SMPLestXRunner
from smplestx.engine.loops import SkipBatchSampler


class _ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        return {'loss': (out - 1).pow(2).mean()} if mode == 'loss' else out


class _ToyData(Dataset):

    def __len__(self):
        return 10

    def __getitem__(self, idx):
        return dict(inputs=torch.tensor([float(idx), 1.0]))


class _RecordBatches(Hook):
    """Record (epoch, batch_idx, sample ids, lr) of every training iteration."""

    def __init__(self):
        self.seen = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        ids = [int(x[0]) for x in data_batch['inputs']]
        lr = runner.optim_wrapper.get_lr()['lr'][0]
        self.seen.append((runner.epoch, batch_idx, ids, lr))


def _runner(work_dir, loop='ResumableEpochBasedTrainLoop', ckpt_interval=7, **kwargs):
    recorder = _RecordBatches()
    runner = SMPLestXRunner(
        model=_ToyModel(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=_ToyData(),
                              sampler=dict(type='DefaultSampler', shuffle=True, seed=3),
                              batch_size=2, num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-2)),
        param_scheduler=dict(type='CosineAnnealingLR', T_max=3, eta_min=1e-3, by_epoch=True,
                             convert_to_iter_based=True),
        train_cfg=dict(type=loop, max_epochs=3),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=ckpt_interval,
                                           by_epoch=False)),
        custom_hooks=[recorder], randomness=dict(seed=0), default_scope='smplestx', **kwargs)
    return runner, recorder.seen


def test_skip_batch_sampler_generates_only_the_rest():
    sampler = SkipBatchSampler([[0, 1], [2, 3], [4, 5]], 2)
    assert list(sampler) == [[4, 5]] and len(sampler) == 1


@pytest.mark.parametrize('ckpt_iter', [7, 5])
def test_mid_epoch_resume_continues_with_the_same_data_lr_and_weights(tmp_path, ckpt_iter):
    # 5 batches per epoch: iter_7 is inside epoch 1, iter_5 ends epoch 0 (saved before the
    # epoch's after_train_epoch hooks ran).
    full, full_seen = _runner(tmp_path / 'full', ckpt_interval=ckpt_iter)
    full.train()
    assert full.iter == 15 and full.epoch == 3 and len(full_seen) == 15
    resumed, resumed_seen = _runner(tmp_path / 'resumed', resume=True,
                                    load_from=str(tmp_path / 'full' / f'iter_{ckpt_iter}.pth'))
    resumed.train()
    assert resumed.iter == 15 and resumed.epoch == 3
    assert resumed_seen == full_seen[ckpt_iter:]
    for name, value in full.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value, rtol=0, atol=0)
    ref = full.optim_wrapper.state_dict()
    got = resumed.optim_wrapper.state_dict()
    assert got['param_groups'] == ref['param_groups']
    for idx, state in ref['state'].items():
        for key, value in state.items():
            torch.testing.assert_close(got['state'][idx][key], value, rtol=0, atol=0)


def test_mmengine_loop_would_repeat_data(tmp_path):
    """The reason for the resumable loop: the stock loop restarts the epoch."""
    full, full_seen = _runner(tmp_path / 'full', loop='EpochBasedTrainLoop')
    full.train()
    resumed, resumed_seen = _runner(tmp_path / 'resumed', loop='EpochBasedTrainLoop',
                                    resume=True, load_from=str(tmp_path / 'full' / 'iter_7.pth'))
    resumed.train()
    assert resumed.iter > 15
    assert resumed_seen != full_seen[7:]


def test_resume_with_another_batch_size_is_refused(tmp_path):
    full, _ = _runner(tmp_path / 'full')
    full.train()
    other, _ = _runner(tmp_path / 'other', resume=True,
                       load_from=str(tmp_path / 'full' / 'iter_7.pth'))
    other._train_dataloader['batch_size'] = 5
    with pytest.raises(RuntimeError, match='does not fit 2 batches per epoch'):
        other.train()
