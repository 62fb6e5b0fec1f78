import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from smplestx.models.utils.checkpoint_conversion import (
    CheckpointFormatError,
    convert_official_state_dict,
    is_official_checkpoint,
    load_official_checkpoint,
    state_dict_mismatch,
)
from smplestx.registry import MODELS
from smplestx.testing.official_io import official_crops
from smplestx.testing.tolerance import assert_close_at_scale
from smplestx.testing.tools import load_tool

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / 'configs' / 'smplestx' / 'smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'
TOOL = 'tools/model_converters/smplestx_official_to_smplestx.py'


def run_main(argv):
    """The converter as a script: its exit status (errors print one line and exit 2)."""
    from smplestx.utils.cli import run_tool

    with pytest.raises(SystemExit) as info:
        run_tool(lambda: load_tool(TOOL).main(argv))
    return info.value.code


def test_key_mapping_rules():
    network = {
        'module.encoder.pos_embed': torch.zeros(1),
        'module.decoder.token_conv.weight': torch.zeros(1),
        'module.smplx_layer.shapedirs': torch.zeros(1),
        'backbone.blocks.0.norm1.weight': torch.zeros(1),  # legacy SMPLer-X name
        'decoder.dec_body_cam.bias': torch.zeros(1),  # no ``module.`` (official loader adds it)
    }
    converted = convert_official_state_dict(network)
    assert list(converted) == ['backbone.pos_embed', 'head.token_conv.weight',
                               'backbone.blocks.0.norm1.weight', 'head.dec_body_cam.bias']
    assert is_official_checkpoint({'epoch': 0, 'network': {}, 'optimizer': {}})
    assert is_official_checkpoint(network)
    assert not is_official_checkpoint({'backbone.pos_embed': 0, 'head.token_conv.weight': 0})
    assert not is_official_checkpoint([1, 2])


def test_mismatch_description_is_one_line():
    problem = state_dict_mismatch({'a': torch.zeros(2), 'b': torch.zeros(1)},
                                  {'a': torch.zeros(3), 'c': torch.zeros(1)})
    assert problem == ('1 missing key(s): c; 1 unexpected key(s): b; 1 shape mismatch(es) '
                       '(checkpoint vs model): a [2] vs [3]')
    assert state_dict_mismatch({'a': torch.zeros(2)}, {'a': torch.Size([2])}) is None
    # Allowed-missing prefixes: their keys may be absent, not unexpected or of another shape.
    model = {'a': torch.zeros(2), 'new.w': torch.zeros(3)}
    assert state_dict_mismatch({'a': torch.zeros(2)}, model, ignore=['new.']) is None
    assert state_dict_mismatch({'a': torch.zeros(2), 'new.stray': torch.zeros(1)}, model,
                               ignore=['new.']) == '1 unexpected key(s): new.stray'
    assert state_dict_mismatch({'a': torch.zeros(2), 'new.w': torch.zeros(4)}, model,
                               ignore=['new.']) == ('1 shape mismatch(es) (checkpoint vs '
                                                    'model): new.w [4] vs [3]')


def test_convert_writes_verified_weights_only_checkpoint(official_tiny_path, body_model_path,
                                                         official_io, tmp_path, capsys):
    dst = tmp_path / 'out' / 'tiny.pth'
    assert load_tool(TOOL).main([str(official_tiny_path / 'snapshot_0.pth.tar'), str(dst),
                             '--config', str(TINY_CONFIG)]) == 0
    assert 'verified against' in capsys.readouterr().out
    assert [p.name for p in dst.parent.iterdir()] == ['tiny.pth']  # no temp file left
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}
    assert len(ckpt['state_dict']) == 159
    assert all(k.startswith(('backbone.', 'head.')) for k in ckpt['state_dict'])
    assert ckpt['meta']['num_params'] == 995_872
    assert ckpt['meta']['source_epoch'] == 0
    assert ckpt['meta']['converted_from'] == 'snapshot_0.pth.tar'

    cfg = Config.fromfile(str(TINY_CONFIG))
    cfg.model.head.body_model.body_model_dir = str(body_model_path)
    init_default_scope('smplestx')
    model = MODELS.build(cfg.model).eval()
    load_checkpoint(model, str(dst), map_location='cpu', strict=True)
    crops = official_crops(official_io)
    with torch.no_grad():
        out = model(model.data_preprocessor(dict(inputs=crops))['inputs'], mode='tensor')
    for key, value in out.items():
        assert_close_at_scale(value, official_io[f'test/out/{key}'], msg=key)


def test_wrong_size_config_fails_before_writing(official_tiny_path, tmp_path, capsys):
    dst = tmp_path / 'h.pth'
    config = REPO / 'configs' / 'smplestx' / 'smplestx_vit-s_16xb16-20e_h40-256x192.py'
    assert run_main([str(official_tiny_path / 'snapshot_0.pth.tar'), str(dst),
                     '--config', str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert ('it has embed_dim 32, depth 2 but the model expects embed_dim 384, depth 12 '
            '(ViT-S)') in err
    assert not dst.exists() and not list(tmp_path.iterdir())


def test_random_file_is_not_a_checkpoint(tmp_path, capsys):
    src = tmp_path / 'random.pth.tar'
    src.write_bytes(np.random.default_rng(0).bytes(4096))
    assert run_main([str(src), str(tmp_path / 'out.pth')]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f'{src} is not a torch checkpoint' in err
    with pytest.raises(CheckpointFormatError, match='is not a torch checkpoint'):
        load_official_checkpoint(src)
    plain_pickle = tmp_path / 'plain.pkl'
    plain_pickle.write_bytes(pickle.dumps({'network': {}}))
    with pytest.raises(CheckpointFormatError, match='is not a torch checkpoint'):
        load_official_checkpoint(plain_pickle)


class _Custom:
    pass


def test_checkpoint_needing_full_unpickling_is_refused(tmp_path):
    src = tmp_path / 'unsafe.pth.tar'
    torch.save({'network': {'module.encoder.pos_embed': torch.zeros(1)}, 'extra': _Custom()},
               src)
    with pytest.raises(CheckpointFormatError) as info:
        load_official_checkpoint(src)
    message = str(info.value)
    assert 'needs full unpickling' in message and '_Custom' in message
    assert '\n' not in message


def test_non_official_torch_file(tmp_path):
    src = tmp_path / 'ours.pth'
    torch.save({'state_dict': {'backbone.pos_embed': torch.zeros(1)}}, src)
    with pytest.raises(CheckpointFormatError, match='is not an official SMPLest-X checkpoint'):
        load_official_checkpoint(src)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_official_checkpoint(tmp_path / 'missing.pth')


def test_an_smplestx_checkpoint_needs_no_conversion(tmp_path, official_tiny_path, capsys):
    """A training checkpoint of this project (MMEngine meta) and a converted one."""
    from mmengine.logging import HistoryBuffer

    training = tmp_path / 'epoch_1.pth'
    loss = HistoryBuffer()
    loss.update(0.5)
    torch.save({'state_dict': {'backbone.pos_embed': torch.zeros(1)},
                'message_hub': {'log_scalars': {'loss': loss}}}, training)
    converted = tmp_path / 'converted.pth'
    assert run_main([str(official_tiny_path / 'snapshot_0.pth.tar'), str(converted)]) == 0
    capsys.readouterr()
    for src in (training, converted):
        assert run_main([str(src), str(tmp_path / 'again.pth')]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f'error: {src} is already an smplestx checkpoint (backbone.*/head.* '
                       f'weights), not an official one: it needs no conversion; give it to '
                       f'tools/test.py, the demo, init_model or load_from as it is '
                       f'(--weights-only reduces a Runner checkpoint to its weights)']
    assert not (tmp_path / 'again.pth').exists()


def test_a_damaged_official_checkpoint_is_refused(tmp_path, official_tiny_path, capsys):
    from smplestx.testing.damage import damaged_copy

    src = damaged_copy(official_tiny_path / 'snapshot_0.pth.tar', tmp_path / 'damaged.pth.tar')
    assert run_main([src, str(tmp_path / 'out.pth')]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f'error: {src} is damaged: member ')
    assert not (tmp_path / 'out.pth').exists()


def test_an_unreadable_config_is_one_line(tmp_path, official_tiny_path, capsys):
    config = tmp_path / 'broken.py'
    config.write_text('model = dict(\n')
    assert run_main([str(official_tiny_path / 'snapshot_0.pth.tar'), str(tmp_path / 'o.pth'),
                     '--config', str(config)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: config {config} has a syntax error at line 1: '(' was never closed"]
