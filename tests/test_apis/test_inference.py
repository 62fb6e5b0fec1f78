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
