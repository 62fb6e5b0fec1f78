from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from smplestx.apis import init_model, load_config, set_body_model_dir
from smplestx.apis.inference import body_model_dirs
from smplestx.testing.official_io import official_crops

TINY = Path(__file__).resolve().parents[2] / 'configs' / 'smplestx' / \
    'smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'


def test_init_model_loads_the_official_checkpoint(body_model_path, official_tiny_path,
                                                  official_io):
    model = init_model(str(TINY), str(official_tiny_path / 'snapshot_0.pth.tar'), 'cpu',
                       body_model_dir=str(body_model_path))
    assert not model.training and isinstance(model.cfg, Config)
    crops = official_crops(official_io)
    with torch.no_grad():
        inputs = model.data_preprocessor(dict(inputs=crops))['inputs']
        out = model(inputs, mode='tensor')
    for key in ('cam_trans', 'smplx_body_pose', 'smplx_mesh_cam'):
        np.testing.assert_allclose(out[key].numpy(), official_io[f'test/out/{key}'], rtol=1e-5,
                                   atol=1e-5, err_msg=key)


def test_seeded_random_init_is_reproducible_and_restores_rng(body_model_path):
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = init_model(str(TINY), body_model_dir=str(body_model_path), seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    b = init_model(str(TINY), body_model_dir=str(body_model_path), seed=7)
    c = init_model(str(TINY), body_model_dir=str(body_model_path), seed=8)
    wa, wb, wc = (m.head.dec_body_cam.weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)


def test_config_helpers_and_errors(tmp_path):
    cfg = load_config(str(TINY), {'model.head.camera_3d_size': 3.0})
    assert cfg.model.head.camera_3d_size == 3.0
    assert body_model_dirs(cfg) == [None]
    assert set_body_model_dir(cfg, '/x') == 1 and body_model_dirs(cfg) == ['/x']
    with pytest.raises(FileNotFoundError, match='config file'):
        load_config(str(tmp_path / 'none.py'))
    with pytest.raises(FileNotFoundError, match='checkpoint .* does not exist'):
        init_model(str(TINY), str(tmp_path / 'none.pth'))
    with pytest.raises(TypeError, match='config must be'):
        load_config(42)


def test_init_model_refuses_a_checkpoint_with_flipped_bytes(tmp_path, body_model_path,
                                                            official_tiny_path):
    """4 KB inverted in the middle of the file: a one-line error, not other outputs."""
    from smplestx.testing.damage import damaged_copy
    from smplestx.utils.checkpoint_integrity import CorruptCheckpointError

    damaged = damaged_copy(official_tiny_path / 'snapshot_0.pth.tar',
                           tmp_path / 'snapshot_0.pth.tar')
    with pytest.raises(CorruptCheckpointError, match=rf'{damaged} is damaged: member .* fails '
                       r'its CRC-32 check'):
        init_model(str(TINY), str(damaged), body_model_dir=str(body_model_path))


def _tensor_outputs(model, official_io):
    with torch.no_grad():
        inputs = model.data_preprocessor(dict(inputs=official_crops(official_io)))['inputs']
        return model(inputs, mode='tensor')


def test_half_precision_checkpoint_behaves_as_documented(body_model_path, official_tiny_path,
                                                         official_io, tmp_path, monkeypatch):
    """A bf16 file loads into fp32 (rounded weights, one notice) and as is into bf16."""
    from smplestx.apis import inference

    notices = []
    monkeypatch.setattr(inference, 'print_log', lambda message, **kw: notices.append(message))
    snapshot = str(official_tiny_path / 'snapshot_0.pth.tar')
    original = init_model(str(TINY), snapshot, body_model_dir=str(body_model_path))
    half = tmp_path / 'tiny_bf16.pth'
    torch.save({'state_dict': {k: v.bfloat16() for k, v in original.state_dict().items()
                               if not k.startswith('head.body_model.')}}, half)
    assert notices == []

    fp32 = init_model(str(TINY), str(half), body_model_dir=str(body_model_path))
    assert len(notices) == 1 and 'stores bfloat16 weights; those that run in float32 ' \
        '(precision fp32) were converted' in notices[0]
    for key, value in original.state_dict().items():
        loaded = fp32.state_dict()[key]
        assert loaded.dtype == value.dtype, key
        if value.is_floating_point():
            assert torch.equal(loaded, value.bfloat16().float()), key
    # Same outputs as the fp32 model with rounded weights: the rounding is the only change.
    rounded = init_model(str(TINY), snapshot, body_model_dir=str(body_model_path))
    with torch.no_grad():
        for param in rounded.parameters():
            param.copy_(param.bfloat16().float())
    for key, value in _tensor_outputs(fp32, official_io).items():
        assert torch.equal(value, _tensor_outputs(rounded, official_io)[key]), key

    notices.clear()
    bf16 = init_model(str(TINY), str(half), body_model_dir=str(body_model_path),
                      precision='bf16')
    # The backbone and decoder take the file as it is; the readouts run in fp32.
    assert len(notices) == 1 and '(precision bf16) were converted' in notices[0]
    stored = torch.load(half, weights_only=True)['state_dict']
    assert torch.equal(bf16.backbone.blocks[0].attn.qkv.weight,
                       stored['backbone.blocks.0.attn.qkv.weight'])
    assert bf16.head.dec_body_pose.weight.dtype == torch.float32


def _mapped_ranges(path):
    """Address ranges of the mappings of ``path`` in this process (Linux)."""
    ranges = []
    with open('/proc/self/maps') as f:
        for line in f:
            if line.rstrip().endswith(str(path)):
                start, end = line.split()[0].split('-')
                ranges.append((int(start, 16), int(end, 16)))
    return ranges


@pytest.mark.skipif(not Path('/proc/self/maps').exists(), reason='needs Linux /proc/self/maps')
def test_checkpoint_tensors_are_memory_mapped_and_not_copied(body_model_path,
                                                             official_tiny_path, tmp_path):
    """The weights are the file's mapped pages (assigned, not copied into a second set)."""
    snapshot = tmp_path / 'snapshot.pth.tar'
    snapshot.write_bytes((official_tiny_path / 'snapshot_0.pth.tar').read_bytes())
    model = init_model(str(TINY), str(snapshot), body_model_dir=str(body_model_path))
    ranges = _mapped_ranges(snapshot)
    assert ranges, 'the checkpoint is not memory-mapped'
    for name, param in model.named_parameters():
        assert any(lo <= param.data_ptr() < hi for lo, hi in ranges), name
