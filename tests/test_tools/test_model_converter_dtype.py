"""Converter: --dtype half-size files with the measured deviation, --weights-only."""

from pathlib import Path

import pytest
import torch

from smplestx.apis import init_model
from smplestx.testing.tools import load_tool
from smplestx.utils.cli import run_tool

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / 'configs' / 'smplestx' / 'smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'


@pytest.fixture(scope='module')
def tool():
    return load_tool('tools/model_converters/smplestx_official_to_smplestx.py')


@pytest.mark.parametrize('dtype,torch_dtype', [('bf16', torch.bfloat16),
                                               ('fp16', torch.float16)])
def test_half_size_file_and_its_deviation(tool, official_tiny_path, body_model_path, tmp_path,
                                          capsys, dtype, torch_dtype):
    src = str(official_tiny_path / 'snapshot_0.pth.tar')
    full, half = tmp_path / 'fp32.pth', tmp_path / f'{dtype}.pth'
    assert tool.main([src, str(full)]) == 0
    assert tool.main([src, str(half), '--dtype', dtype, '--config', str(TINY_CONFIG),
                      '--body-model-dir', str(body_model_path)]) == 0
    out = capsys.readouterr().out
    assert f'{dtype} parameters' in out
    line = next(x for x in out.splitlines() if x.startswith('deviation from the original'))
    assert 'vertices max' in line and ' mm' in line and 'rotation max' in line
    saved = torch.load(half, weights_only=True)
    assert saved['meta']['dtype'] == dtype
    assert {v.dtype for v in saved['state_dict'].values()} == {torch_dtype}
    assert half.stat().st_size < 0.55 * full.stat().st_size
    # Loaded into fp32: the original weights rounded to the half type.
    model = init_model(str(TINY_CONFIG), str(half), body_model_dir=str(body_model_path))
    original = torch.load(full, weights_only=True)['state_dict']
    for key, value in original.items():
        assert torch.equal(model.state_dict()[key], value.to(torch_dtype).float()), key


def test_half_size_without_config_says_how_to_measure(tool, official_tiny_path, tmp_path,
                                                      capsys):
    src = str(official_tiny_path / 'snapshot_0.pth.tar')
    assert tool.main([src, str(tmp_path / 'x.pth'), '--dtype', 'bf16']) == 0
    assert 'pass --config to measure the deviation' in capsys.readouterr().out


def test_weights_only_reduces_a_runner_checkpoint(tool, official_tiny_path, tmp_path, capsys):
    src = str(official_tiny_path / 'snapshot_0.pth.tar')
    converted = tmp_path / 'converted.pth'
    assert tool.main([src, str(converted)]) == 0
    weights = torch.load(converted, weights_only=True)['state_dict']
    runner = tmp_path / 'epoch_3.pth'
    torch.save({'meta': {'epoch': 3, 'iter': 30},
                'state_dict': {f'module.{k}': v for k, v in weights.items()},
                'optimizer': {'state': {0: {'exp_avg': torch.ones(1000)}}, 'param_groups': []},
                'message_hub': {'log_scalars': {}}}, runner)
    out = tmp_path / 'weights.pth'
    with pytest.raises(SystemExit) as info:  # as a script: one error line, status 2
        run_tool(lambda: tool.main([str(runner), str(out)]))
    assert info.value.code == 2
    assert '--weights-only reduces a Runner checkpoint' in capsys.readouterr().err
    assert not out.exists()
    assert tool.main([str(runner), str(out), '--weights-only', '--config',
                      str(TINY_CONFIG)]) == 0
    saved = torch.load(out, weights_only=True)
    assert set(saved) == {'state_dict', 'meta'} and saved['meta']['source_epoch'] == 3
    assert saved['state_dict'].keys() == weights.keys()
    assert all(torch.equal(saved['state_dict'][k], v) for k, v in weights.items())
