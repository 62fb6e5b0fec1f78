"""Precision modes: names, the auto choice, notices, and what each mode converts."""

from pathlib import Path

import pytest
import torch
from torch import nn

from smplestx.apis import init_model
from smplestx.models.utils import precision as precision_module
from smplestx.models.utils.precision import (
    PRECISIONS,
    apply_precision,
    auto_precision,
    check_precision,
    resolve_precision,
)
from smplestx.testing.official_io import official_crops

TINY = Path(__file__).resolve().parents[3] / 'configs' / 'smplestx' / \
    'smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'
NO_FEATURES = dict(amx_bf16=False, avx512_bf16=False, vnni=False, avx512=False, avx2=False,
                   amx_fp16=False)


@pytest.fixture()
def features(monkeypatch):
    """Pretend CPU features; notices start afresh and are recorded."""
    state = dict(NO_FEATURES)
    notices = []
    monkeypatch.setattr(precision_module, 'cpu_features', lambda: dict(state))
    monkeypatch.setattr(precision_module, '_NOTICES_SHOWN', set())
    monkeypatch.setattr(precision_module, 'print_log',
                        lambda message, **kwargs: notices.append(message))
    return state, notices


def test_bad_name_is_one_clear_error():
    with pytest.raises(ValueError, match=r"precision must be one of fp32, bf16, fp16, int8, "
                                         r"auto; got 'fp64'"):
        check_precision('fp64')
    with pytest.raises(ValueError, match='precision must be one of'):
        init_model(str(TINY), precision='half')
    assert resolve_precision(None).name == 'fp32'
    assert set(PRECISIONS) == {'fp32', 'bf16', 'fp16', 'int8', 'auto'}


@pytest.mark.parametrize('present,expected', [
    (('amx_bf16', 'avx512_bf16', 'avx2'), 'bf16'),
    (('avx512_bf16', 'avx512', 'vnni', 'avx2'), 'int8'),  # no AMX: int8 measured faster
    (('avx512', 'vnni', 'avx2'), 'int8'),
    (('avx2', ), 'int8'),
    ((), 'fp32'),
])
def test_auto_picks_the_fastest_supported_cpu_mode_and_says_so(features, present, expected):
    state, notices = features
    state.update({name: True for name in present})
    choice = resolve_precision('auto', 'cpu')
    assert (choice.name, choice.requested) == (expected, 'auto')
    assert choice.reason and len(notices) == 1 and expected in notices[0]


def test_bf16_without_hardware_is_allowed_and_said_once(features):
    state, notices = features
    state['avx2'] = True
    for _ in range(3):
        choice = resolve_precision('bf16', 'cpu')
        assert choice.name == 'bf16'
    assert len(notices) == 1
    assert 'no bf16 hardware' in notices[0] and 'slower than fp32' in notices[0]
    assert 'int8' in notices[0]  # names the fast mode of this CPU
    state['avx512_bf16'] = True
    assert resolve_precision('bf16', 'cpu').reason == ''


def test_int8_is_cpu_only_and_gpu_auto_never_picks_it():
    with pytest.raises(ValueError, match='int8 .* runs on the CPU only'):
        resolve_precision('int8', 'cuda')
    if torch.cuda.is_available():
        assert auto_precision('cuda').name in ('bf16', 'fp16')


@pytest.fixture(scope='module')
def tiny_outputs(body_model_path, official_tiny_path, official_io):
    """``tensor``-mode outputs of the official tiny checkpoint in each CPU mode."""
    checkpoint = str(official_tiny_path / 'snapshot_0.pth.tar')
    crops = official_crops(official_io)
    models, outputs = {}, {}
    for name in ('fp32', 'bf16', 'int8'):
        model = init_model(str(TINY), checkpoint, 'cpu', body_model_dir=str(body_model_path),
                           precision=name)
        with torch.no_grad():
            inputs = model.data_preprocessor(dict(inputs=crops))['inputs']
            outputs[name] = model(inputs, mode='tensor')
        models[name] = model
    return models, outputs


def test_low_precision_converts_only_the_backbone_and_decoder(tiny_outputs):
    models, outputs = tiny_outputs
    bf16, int8 = models['bf16'], models['int8']
    assert (bf16.precision, int8.precision) == ('bf16', 'int8')
    assert {p.dtype for p in bf16.backbone.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in bf16.head.transformer.parameters()} == {torch.bfloat16}
    for model in (bf16, int8):
        # The readouts, the SMPL-X layer and so rotations and camera stay fp32.
        assert model.head.token_conv.weight.dtype == torch.float32
        assert model.head.dec_body_pose.weight.dtype == torch.float32
        assert {b.dtype for b in model.head.body_model.buffers() if b.is_floating_point()} \
            == {torch.float32}
    assert not any(type(m) is nn.Linear for m in int8.backbone.modules())
    assert not any(type(m) is nn.Linear for m in int8.head.transformer.modules())
    for name in ('bf16', 'int8'):
        for key, value in outputs[name].items():
            assert value.dtype == torch.float32 and torch.isfinite(value).all(), (name, key)
            assert value.shape == outputs['fp32'][key].shape
        # The conversion happened: the outputs move (by the amounts in docs/benchmarks.md).
        assert not torch.equal(outputs[name]['smplx_mesh_cam'], outputs['fp32']['smplx_mesh_cam'])


def test_fp32_is_the_default_and_exact(tiny_outputs, body_model_path, official_tiny_path,
                                       official_io):
    default = init_model(str(TINY), str(official_tiny_path / 'snapshot_0.pth.tar'), 'cpu',
                         body_model_dir=str(body_model_path))
    assert default.precision == 'fp32' and default.cfg.precision == 'fp32'
    with torch.no_grad():
        inputs = default.data_preprocessor(dict(inputs=official_crops(official_io)))['inputs']
        out = default(inputs, mode='tensor')
    for key, value in tiny_outputs[1]['fp32'].items():
        assert torch.equal(out[key], value), key


def test_a_model_converts_once(tiny_outputs):
    model = tiny_outputs[0]['int8']
    assert apply_precision(model, 'int8').name == 'int8'  # idempotent
    with pytest.raises(RuntimeError, match='already in precision int8'):
        apply_precision(model, 'bf16')


@pytest.mark.skipif(not torch.cuda.is_available(),
                    reason='no GPU: the GPU precision path (bf16/fp16 weights on cuda) is not '
                           'run on a CPU-only machine')
def test_gpu_auto_runs(body_model_path, official_tiny_path, official_io):
    model = init_model(str(TINY), str(official_tiny_path / 'snapshot_0.pth.tar'), 'cuda',
                       body_model_dir=str(body_model_path), precision='auto')
    assert model.precision in ('bf16', 'fp16')
    with torch.no_grad():
        inputs = model.data_preprocessor(dict(inputs=official_crops(official_io)))['inputs']
        out = model(inputs, mode='tensor')
    assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in out.values())
