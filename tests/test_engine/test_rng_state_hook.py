"""RNGStateHook: a run resumed from any checkpoint draws the random numbers of the full run."""

import pickle
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.distributed as torch_dist
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from torch.utils.data import Dataset

from smplestx.engine import SMPLestXRunner
from smplestx.engine.hooks import RNGStateHook, get_rng_state, set_rng_state
from smplestx.testing.tools import free_port
from smplestx.utils.checkpoint import mmengine_safe_globals


class _ToyModel(BaseModel):
    """A linear layer behind dropout: training also draws from torch's RNG."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 1)
        self.dropout = torch.nn.Dropout(0.3)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(self.dropout(torch.stack(inputs)))
        if mode == 'loss':
            return {'loss': (out - 1).pow(2).mean()}
        return [dict(out=o) for o in out]


class _AugmentedData(Dataset):
    """Every sample is jittered with numpy, python and torch random numbers, with a
    conditional draw like the rotation of ``RandomSMPLXAugment``."""

    def __len__(self):
        return 6

    def __getitem__(self, idx):
        jitter = np.random.randn()
        if np.random.rand() < 0.5:
            jitter += np.random.randn()
        return dict(inputs=torch.tensor([float(idx), jitter, random.random()]) +
                    torch.rand(3) * 1e-3)


class _ValData(_AugmentedData):

    def __len__(self):
        return 2


class _ToyMetric(BaseMetric):

    def process(self, data_batch, data_samples):
        self.results.extend(float(s['out']) for s in data_samples)

    def compute_metrics(self, results):
        return dict(mean=float(np.mean(results)))


class _RecordInputs(Hook):

    def __init__(self):
        self.seen = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.seen.append((runner.iter, torch.stack(data_batch['inputs']).clone()))


def _runner(work_dir, rng_hook=True, num_workers=0, seed=0, **kwargs):
    recorder = _RecordInputs()
    default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False,
                                         max_keep_ckpts=-1))
    if rng_hook:
        default_hooks['rng_state'] = dict(type='RNGStateHook')
    runner = SMPLestXRunner(
        model=_ToyModel(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=_AugmentedData(), sampler=dict(type='DefaultSampler'),
                              batch_size=2, num_workers=num_workers,
                              persistent_workers=False),
        val_dataloader=dict(dataset=_ValData(), sampler=dict(type='DefaultSampler',
                                                             shuffle=False),
                            batch_size=2, num_workers=0),
        val_evaluator=Evaluator([_ToyMetric()]),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(type='ResumableEpochBasedTrainLoop', max_epochs=3, val_interval=1),
        default_hooks=default_hooks,
        custom_hooks=[recorder,
                      dict(type='CheckpointHook', interval=1, by_epoch=True,
                           max_keep_ckpts=-1)],
        randomness=dict(seed=seed), default_scope='smplestx', **kwargs)
    return runner, recorder.seen


def _assert_same_run(resumed, resumed_seen, full, full_seen, start):
    assert resumed.iter == full.iter == 9
    assert [it for it, _ in resumed_seen] == [it for it, _ in full_seen[start:]]
    for (it, got), (_, ref) in zip(resumed_seen, full_seen[start:]):
        torch.testing.assert_close(got, ref, rtol=0, atol=0, msg=f'batch of iteration {it}')
    for name, value in full.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value, rtol=0, atol=0)


@pytest.fixture(scope='module')
def full_run(tmp_path_factory):
    """9 iterations (3 epochs of 3 batches) with a checkpoint after every one and every epoch."""
    work_dir = tmp_path_factory.mktemp('full')
    runner, seen = _runner(work_dir)
    runner.train()
    return work_dir, runner, seen


@pytest.mark.parametrize('ckpt,start', [
    ('iter_4.pth', 4),   # inside epoch 1
    ('iter_3.pth', 3),   # last batch of epoch 0, saved before its after_train_epoch hooks
    ('epoch_1.pth', 3),  # end of epoch 0; the full run validated after saving it
])
def test_resume_draws_the_same_augmentation_and_dropout(tmp_path, full_run, ckpt, start):
    work_dir, full, full_seen = full_run
    resumed, resumed_seen = _runner(tmp_path, resume=True, load_from=str(work_dir / ckpt))
    resumed.train()
    _assert_same_run(resumed, resumed_seen, full, full_seen, start)


def test_resume_without_a_configured_seed_keeps_the_sampler_and_worker_seeds(tmp_path):
    """randomness.seed=None: each run draws a seed; the resumed one takes the saved ones."""
    full, full_seen = _runner(tmp_path / 'full', seed=None)
    full.train()
    resumed, resumed_seen = _runner(tmp_path / 'resumed', seed=None, resume=True,
                                    load_from=str(tmp_path / 'full' / 'iter_4.pth'))
    sampler_seed = resumed.train_dataloader.sampler.seed
    resumed.train()
    assert resumed.train_dataloader.sampler.seed == full.train_dataloader.sampler.seed
    assert resumed.train_dataloader.sampler.seed != sampler_seed
    assert resumed.train_dataloader.worker_init_fn.keywords['seed'] == full.seed
    _assert_same_run(resumed, resumed_seen, full, full_seen, 4)


def test_without_the_hook_the_resumed_augmentation_differs(tmp_path):
    full, full_seen = _runner(tmp_path / 'full', rng_hook=False)
    full.train()
    resumed, resumed_seen = _runner(tmp_path / 'resumed', rng_hook=False, resume=True,
                                    load_from=str(tmp_path / 'full' / 'iter_4.pth'))
    resumed.train()
    assert not torch.equal(resumed_seen[0][1], full_seen[4][1])


def test_workers_resume_exactly_at_an_epoch_boundary(tmp_path):
    """With 2 non-persistent workers (reseeded alike by MMEngine every epoch)."""
    full, full_seen = _runner(tmp_path / 'full', num_workers=2)
    full.train()
    resumed, resumed_seen = _runner(tmp_path / 'resumed', num_workers=2, resume=True,
                                    load_from=str(tmp_path / 'full' / 'epoch_1.pth'))
    resumed.train()
    _assert_same_run(resumed, resumed_seen, full, full_seen, 3)


def test_checkpoint_rng_state_loads_with_weights_only(tmp_path, full_run):
    work_dir = full_run[0]
    ckpt = work_dir / 'iter_4.pth'
    with mmengine_safe_globals(str(ckpt)):  # the runner's allowlist is unchanged
        checkpoint = torch.load(ckpt, weights_only=True)
    entry = checkpoint['rng_state']
    assert len(entry['ranks']) == 1 and entry['data_seeds'] == dict(sampler=0, worker=0)
    assert set(entry['ranks'][0]) == {'python', 'numpy', 'torch', 'cuda'}
    # The entry alone needs no allowlist at all.
    alone = tmp_path / 'rng.pth'
    torch.save(entry, alone)
    loaded = torch.load(alone, weights_only=True)
    assert pickle.dumps(loaded['data_seeds']) == pickle.dumps(entry['data_seeds'])


def test_get_and_set_rng_state_round_trip_through_weights_only(tmp_path):
    np.random.seed(1)
    random.seed(1)
    torch.manual_seed(1)
    np.random.randn()  # a cached gaussian is part of numpy's state
    path = tmp_path / 'state.pth'
    torch.save(get_rng_state(), path)
    expected = (np.random.randn(4), np.random.rand(), random.random(), random.gauss(0, 1),
                torch.rand(3))
    set_rng_state(torch.load(path, weights_only=True))
    got = (np.random.randn(4), np.random.rand(), random.random(), random.gauss(0, 1),
           torch.rand(3))
    np.testing.assert_array_equal(got[0], expected[0])
    assert got[1:4] == expected[1:4]
    torch.testing.assert_close(got[4], expected[4], rtol=0, atol=0)
    with pytest.raises(ValueError, match='numpy'):
        set_rng_state({'python': None, 'torch': None, 'cuda': []})


def test_load_from_does_not_restore_the_rng_state(tmp_path, full_run):
    """Fine-tuning (load_from without resume) keeps the fresh run's randomness."""
    work_dir, _, full_seen = full_run
    finetune, seen = _runner(tmp_path, load_from=str(work_dir / 'iter_4.pth'))
    finetune.train()
    assert finetune.iter == 9
    torch.testing.assert_close(seen[0][1], full_seen[0][1], rtol=0, atol=0)
    hooks = [h for h in finetune.hooks if isinstance(h, RNGStateHook)]
    assert len(hooks) == 1 and hooks[0]._resumed is None


def test_each_process_restores_its_own_state(monkeypatch):
    """The hook with the states gathered by SMPLestXRunner in a 2-process run (simulated)."""
    from smplestx.engine.hooks import rng_state_hook

    states = []
    for seed in (10, 11):
        np.random.seed(seed)
        states.append(get_rng_state())
    loader = torch.utils.data.DataLoader(_AugmentedData())
    runner = SimpleNamespace(gathered_rng_states=states, train_dataloader=loader, _resume=True)
    hook = RNGStateHook()
    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    assert checkpoint['rng_state']['ranks'] is states
    monkeypatch.setattr(rng_state_hook, 'get_dist_info', lambda: (1, 2))
    np.random.seed(0)
    hook.after_load_checkpoint(runner, checkpoint)
    hook.before_train(runner)
    expected = np.random.RandomState(11).rand()
    assert np.random.rand() == expected
    # Another number of processes: nothing is restored.
    monkeypatch.setattr(rng_state_hook, 'get_dist_info', lambda: (0, 3))
    np.random.seed(0)
    hook.after_load_checkpoint(runner, checkpoint)
    hook.before_train(runner)
    assert np.random.rand() == np.random.RandomState(0).rand()


@pytest.mark.skipif(torch.cuda.is_available(), reason='tests the CPU-only path')
def test_distributed_runner_gathers_the_states_of_all_processes(tmp_path, monkeypatch):
    for key, value in dict(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0', MASTER_ADDR='127.0.0.1',
                           MASTER_PORT=str(free_port())).items():
        monkeypatch.setenv(key, value)
    from smplestx.engine import runner as runner_module

    gathered, gather = [], runner_module.all_gather_object

    def spy(obj):
        gathered.append(obj)
        return gather(obj)

    monkeypatch.setattr(runner_module, 'all_gather_object', spy)
    try:
        runner, _ = _runner(tmp_path, launcher='pytorch', cfg=dict(find_unused_parameters=True))
        runner._train_loop['max_epochs'] = 1
        runner.train()
        assert torch_dist.is_initialized() and runner.gathered_rng_states is None
        assert len(gathered) == 4  # iterations 1-3 and the epoch checkpoint
        with mmengine_safe_globals():
            checkpoint = torch.load(tmp_path / 'iter_3.pth', weights_only=True)
        assert len(checkpoint['rng_state']['ranks']) == 1
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()
