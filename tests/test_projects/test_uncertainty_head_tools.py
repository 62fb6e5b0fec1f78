"""The uncertainty-head project through the unchanged tools/train.py and tools/test.py."""

import os
import subprocess
import sys

import pytest
import torch
from project_utils import PROJECTS

from smplestx.datasets.synthetic import make_synthetic_humandata
from smplestx.models.utils.checkpoint_conversion import load_official_checkpoint
from smplestx.testing.fixtures import REPO_ROOT
from smplestx.testing.tools import load_tool
from smplestx.utils.checkpoint import mmengine_safe_globals

CONFIG = (PROJECTS / 'uncertainty_head' / 'configs'
          / 'uncertainty-head_vit-tiny_frozen_1xb2-40it_synthetic-256x192.py')
NEW_PREFIX = 'head.uncertainty.'


def data_options(root):
    return [f'{split}_dataloader.dataset.data_root={root}' for split in ('train', 'test')]


@pytest.fixture(scope='module')
def trained(tmp_path_factory, body_models_env, official_tiny_path):
    """Run the user's command (two iterations) in a fresh process from the repo root."""
    data_root = tmp_path_factory.mktemp('synthetic')
    make_synthetic_humandata(str(body_models_env), str(data_root), num=2, img_size=(256, 256),
                             seed=1)
    work_dir = tmp_path_factory.mktemp('work_dir')
    snapshot = official_tiny_path / 'snapshot_0.pth.tar'
    cmd = [sys.executable, 'tools/train.py', str(CONFIG.relative_to(REPO_ROOT)),
           '--work-dir', str(work_dir), '--cfg-options', 'train_cfg.max_iters=2',
           f'load_from={snapshot}', 'val_cfg=None', 'val_dataloader=None',
           'val_evaluator=None', *data_options(data_root)]
    env = dict(os.environ, PYTHONPATH='', OMP_NUM_THREADS='1')
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(data_root=data_root, work_dir=work_dir, snapshot=snapshot, log=proc.stdout
                + proc.stderr)


def test_train_tool_updates_only_the_new_head(trained):
    checkpoint = trained['work_dir'] / 'iter_2.pth'
    assert checkpoint.is_file()
    assert 'missing keys in source state_dict: head.uncertainty.' in trained['log']
    with mmengine_safe_globals(str(checkpoint)):
        state = torch.load(checkpoint, map_location='cpu', weights_only=True)['state_dict']
    official = load_official_checkpoint(trained['snapshot'])
    new_keys = [k for k in state if k.startswith(NEW_PREFIX)]
    assert new_keys and set(state) == set(official) | set(new_keys)
    for key, value in official.items():
        assert torch.equal(state[key], value), key


def test_test_tool_produces_metrics(trained, tmp_path):
    tool = load_tool('tools/test.py')
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO_ROOT)
        metrics = tool.main([str(CONFIG), str(trained['work_dir'] / 'iter_2.pth'),
                             '--work-dir', str(tmp_path), '--cfg-options',
                             *data_options(trained['data_root'])])
    for key in ('mpvpe/all', 'pa-mpvpe/all', 'uncertainty/nll/pose', 'uncertainty/nll/shape',
                'uncertainty/nll/expr', 'uncertainty/spearman/pose'):
        assert key in metrics, key
    assert all(torch.isfinite(torch.tensor(float(metrics[k])))
               for k in ('mpvpe/all', 'uncertainty/nll/pose', 'uncertainty/nll/shape'))
    assert (tmp_path / 'results.json').is_file()
