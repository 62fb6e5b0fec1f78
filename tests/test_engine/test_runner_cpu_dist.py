import os

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.model import BaseModel, MMDistributedDataParallel
from torch.utils.data import Dataset

from smplestx.engine import SMPLestXRunner
from smplestx.engine.runner import cpu_dist_env
from smplestx.testing.tools import free_port


class _ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)
        self.unused = torch.nn.Linear(2, 1)  # like the head's loss-free readouts

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        return {'loss': out.pow(2).mean()} if mode == 'loss' else out


class _ToyData(Dataset):

    def __len__(self):
        return 4

    def __getitem__(self, idx):
        return dict(inputs=torch.full((2, ), float(idx)))


def test_slurm_variables_become_env_init_variables(monkeypatch):
    for key in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_PORT'):
        monkeypatch.setenv(key, '')  # records the old state: cpu_dist_env's values are undone
        monkeypatch.delenv(key)
    monkeypatch.setenv('MASTER_ADDR', 'node-a')
    monkeypatch.setenv('SLURM_PROCID', '5')
    monkeypatch.setenv('SLURM_NTASKS', '8')
    monkeypatch.setenv('SLURM_LOCALID', '1')
    monkeypatch.setenv('SLURM_NODELIST', 'node-[a-b]')
    cpu_dist_env('slurm')
    assert (os.environ['RANK'], os.environ['WORLD_SIZE'], os.environ['LOCAL_RANK'],
            os.environ['MASTER_PORT'], os.environ['MASTER_ADDR']) == ('5', '8', '1', '29500',
                                                                      'node-a')
    with pytest.raises(ValueError, match="'mpi'"):
        cpu_dist_env('mpi')


@pytest.mark.skipif(torch.cuda.is_available(), reason='tests the CPU-only path')
def test_pytorch_launcher_without_gpu_uses_gloo_and_cpu_ddp(tmp_path, monkeypatch):
    env = dict(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0', MASTER_ADDR='127.0.0.1',
               MASTER_PORT=str(free_port()))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert not torch_dist.is_initialized()
    try:
        runner = SMPLestXRunner(
            model=_ToyModel(), work_dir=str(tmp_path),
            train_dataloader=dict(dataset=_ToyData(), sampler=dict(type='DefaultSampler'),
                                  batch_size=2, num_workers=0),
            optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-2)),
            train_cfg=dict(by_epoch=False, max_iters=2),
            env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=60)),
            cfg=dict(find_unused_parameters=True),
            launcher='pytorch', default_scope='smplestx')
        assert torch_dist.get_backend() == 'gloo'
        runner.train()
        assert isinstance(runner.model, MMDistributedDataParallel)
        assert runner.model.device_ids is None
        assert runner.model.find_unused_parameters
        assert runner.iter == 2
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()
