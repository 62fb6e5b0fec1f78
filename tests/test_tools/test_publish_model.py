import hashlib
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.model import BaseModel
from torch.utils.data import Dataset

from smplestx.engine import SMPLestXRunner
from smplestx.testing.tools import load_tool

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'misc' / 'publish_model.py'


class _ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 3)
        self.register_buffer('stat', torch.arange(3.))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        return {'loss': out.pow(2).mean()} if mode == 'loss' else out


class _ToyData(Dataset):

    def __len__(self):
        return 4

    def __getitem__(self, idx):
        return dict(inputs=torch.full((2, ), float(idx)))


@pytest.fixture(scope='module')
def training_checkpoint(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('train')
    SMPLestXRunner(
        model=_ToyModel(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=_ToyData(), sampler=dict(type='DefaultSampler'),
                              batch_size=2, num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-2)),
        param_scheduler=dict(type='CosineAnnealingLR', T_max=2, by_epoch=False),
        train_cfg=dict(by_epoch=False, max_iters=2),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False)),
        default_scope='smplestx').train()
    return work_dir / 'iter_2.pth'


def test_publish_keeps_weights_and_drops_training_state(training_checkpoint, tmp_path):
    tool = load_tool(TOOL)
    final, reported = tool.publish(str(training_checkpoint), str(tmp_path / 'toy.pth'))
    final = Path(final)
    digest = hashlib.sha256(final.read_bytes()).hexdigest()
    assert reported == digest
    assert final.name == f'toy-{digest[:8]}.pth'
    assert not (tmp_path / 'toy.pth').exists()
    # Loads with plain weights_only (no allowlist) ...
    published = torch.load(final, weights_only=True)
    assert set(published) == {'state_dict', 'meta'}
    assert published['meta']['iter'] == 2 and 'mmengine_version' in published['meta']
    # ... while the training checkpoint needs more than weights_only allows.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(training_checkpoint, weights_only=True)
    original = torch.load(training_checkpoint, weights_only=False)
    assert {'optimizer', 'param_schedulers', 'message_hub'} <= set(original)
    assert published['state_dict'].keys() == original['state_dict'].keys()
    for key, value in original['state_dict'].items():
        torch.testing.assert_close(published['state_dict'][key], value, rtol=0, atol=0)
    assert final.stat().st_size < training_checkpoint.stat().st_size


def test_cli_without_hash_and_errors(training_checkpoint, tmp_path):
    out = tmp_path / 'plain.pth'
    proc = subprocess.run([sys.executable, str(TOOL), str(training_checkpoint), str(out),
                           '--no-hash'], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and 'wrote' in proc.stdout
    proc = subprocess.run([sys.executable, str(TOOL), str(tmp_path / 'missing.pth'),
                           str(tmp_path / 'x.pth')], capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert proc.returncode == 1
    assert 'missing.pth does not exist' in proc.stderr
    torch.save({'weights': torch.zeros(1)}, tmp_path / 'bare.pth')
    with pytest.raises(ValueError, match='bare.pth has no state_dict'):
        load_tool(TOOL).publish(str(tmp_path / 'bare.pth'), str(tmp_path / 'y.pth'))


def test_wrapped_and_damaged_checkpoints(training_checkpoint, tmp_path, capsys):
    from smplestx.testing.damage import damaged_copy

    tool = load_tool(TOOL)
    checkpoint = torch.load(training_checkpoint, weights_only=False)
    checkpoint['state_dict'] = {f'module.{k}': v for k, v in checkpoint['state_dict'].items()}
    torch.save(checkpoint, tmp_path / 'ddp.pth')
    final, _ = tool.publish(str(tmp_path / 'ddp.pth'), str(tmp_path / 'out.pth'), add_hash=False)
    assert sorted(torch.load(final, weights_only=True)['state_dict']) == ['linear.bias',
                                                                          'linear.weight', 'stat']
    damaged = damaged_copy(training_checkpoint, tmp_path / 'damaged.pth', flip=16)
    assert tool.main([str(damaged), str(tmp_path / 'x.pth')]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f'error: {damaged} is damaged: member '), err
    assert not (tmp_path / 'x.pth').exists()
