"""tools/dist_train.sh with two CPU processes (gloo): train, checkpoint, resume exactly."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from smplestx.testing.tools import free_port

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / 'configs' / 'smplestx' / 'smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'
DIST_TRAIN = REPO / 'tools' / 'dist_train.sh'
TIMEOUT_S = 600


def _dist_train(work_dir, data_root, body_model_path, *extra_args):
    """Run ``dist_train.sh`` with 2 CPU processes; kill the whole group on timeout."""
    options = [
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        'train_dataloader.batch_size=1',  # 4 samples / 2 ranks: 2 iterations per epoch
        # augmentation stays on, with a different stream per process: the resume restores
        # each process's RNG state (RNGStateHook)
        'randomness.diff_rank_seed=True',
        'train_cfg.max_epochs=2',
        'train_cfg.val_interval=100',
        'param_scheduler.0.T_max=2',
        'param_scheduler.0.end=2',
        'model.head.depth=1',
        'default_hooks.checkpoint.by_epoch=False',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
    ]
    env = dict(os.environ, PORT=str(free_port()), CUDA_VISIBLE_DEVICES='',
               OMP_NUM_THREADS='1', SMPLESTX_BODY_MODELS=str(body_model_path),
               PYTHON=sys.executable)
    cmd = ['bash', str(DIST_TRAIN), str(TINY_CONFIG), '2', '--work-dir', str(work_dir),
           *extra_args, '--cfg-options', *options]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        pytest.fail(f'dist_train.sh did not finish in {TIMEOUT_S} s:\n{output[-4000:]}')
    assert proc.returncode == 0, output[-6000:]
    return output


def _load(path):
    return torch.load(path, map_location='cpu', weights_only=False)


def _assert_same_training_state(got, ref):
    assert got['meta']['epoch'] == ref['meta']['epoch']
    assert got['meta']['iter'] == ref['meta']['iter']
    assert got['state_dict'].keys() == ref['state_dict'].keys()
    for key, value in ref['state_dict'].items():
        torch.testing.assert_close(got['state_dict'][key], value, rtol=0, atol=0, msg=key)
    assert got['optimizer']['param_groups'] == ref['optimizer']['param_groups']
    assert got['optimizer']['state'].keys() == ref['optimizer']['state'].keys()
    for idx, state in ref['optimizer']['state'].items():
        for name, value in state.items():
            torch.testing.assert_close(got['optimizer']['state'][idx][name], value, rtol=0,
                                       atol=0, msg=f'optimizer state {idx}.{name}')
    assert got['param_schedulers'] == ref['param_schedulers']


@pytest.fixture(scope='module')
def synthetic_root(synthetic_humandata_root):
    return synthetic_humandata_root(4)


def test_two_cpu_processes_train_checkpoint_and_resume_exactly(tmp_path, synthetic_root,
                                                               body_model_path):
    full_dir, resumed_dir = tmp_path / 'full', tmp_path / 'resumed'
    log = _dist_train(full_dir, synthetic_root, body_model_path)
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    ckpts = {f'iter_{i}.pth' for i in range(1, 5)}
    assert ckpts <= {p.name for p in full_dir.glob('*.pth')}
    first = _load(full_dir / 'iter_1.pth')
    assert first['meta']['iter'] == 1 and first['meta']['epoch'] == 0  # mid-epoch
    assert first['optimizer']['state'], 'the checkpoint holds the Adam moments'

    # Resume from the mid-epoch checkpoint in another folder, as after an interruption.
    log = _dist_train(resumed_dir, synthetic_root, body_model_path, '--resume',
                      str(full_dir / 'iter_1.pth'))
    assert 'resumed epoch: 0, iter: 1' in log
    assert not (resumed_dir / 'iter_1.pth').exists()
    for i in (2, 3, 4):
        _assert_same_training_state(_load(resumed_dir / f'iter_{i}.pth'),
                                    _load(full_dir / f'iter_{i}.pth'))
    lrs = [_load(full_dir / f'iter_{i}.pth')['optimizer']['param_groups'][0]['lr']
           for i in range(1, 5)]
    assert lrs == sorted(lrs, reverse=True) and lrs[0] > lrs[-1]
