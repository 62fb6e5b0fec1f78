import pytest
import torch
from mmengine.registry import init_default_scope

from smplestx.models.utils.checkpoint_conversion import CheckpointFormatError
from smplestx.models.utils.vitpose_init import (
    ViTPoseCheckpointError,
    load_vitpose_into_encoder,
    vitpose_encoder_state_dict,
)
from smplestx.registry import MODELS

TINY_VIT = dict(type='ViT', img_size=(256, 192), patch_size=16, embed_dim=32, depth=2,
                num_heads=4, mlp_ratio=4, qkv_bias=True, num_task_tokens=80, patch_padding=2)


def _vitpose_checkpoint(embed_dim=32, depth=2, seed=1):
    """A synthetic checkpoint in the official ViTPose (mmpose 0.x) layout."""
    gen = torch.Generator().manual_seed(seed)
    reference = MODELS.build(dict(TINY_VIT, embed_dim=embed_dim, depth=depth))
    state = {f'backbone.{k}': torch.randn(v.shape, generator=gen)
             for k, v in reference.state_dict().items() if k != 'task_tokens'}
    state['keypoint_head.deconv_layers.0.weight'] = torch.randn(embed_dim, 256, 4, 4)
    state['keypoint_head.final_layer.weight'] = torch.randn(17, 256, 1, 1)
    return dict(meta=dict(mmcv_version='1.3.9', time='Thu Jan 1 00:00:00 2022', epoch=210),
                state_dict=state)


@pytest.fixture()
def scope():
    init_default_scope('smplestx')


def test_init_cfg_loads_every_encoder_weight(tmp_path, scope):
    ckpt = _vitpose_checkpoint()
    path = tmp_path / 'vitpose_tiny.pth'
    torch.save(ckpt, path)
    torch.manual_seed(0)
    vit = MODELS.build(dict(TINY_VIT, init_cfg=dict(type='ViTPosePretrained',
                                                    checkpoint=str(path))))
    before = {k: v.clone() for k, v in vit.state_dict().items()}
    vit.init_weights()
    after = vit.state_dict()
    assert set(after) == {k[len('backbone.'):] for k in ckpt['state_dict']
                          if k.startswith('backbone.')} | {'task_tokens'}
    for key, value in after.items():
        if key == 'task_tokens':
            torch.testing.assert_close(value, before[key], rtol=0, atol=0)
            continue
        assert not torch.equal(value, before[key]), f'{key} kept its random init'
        torch.testing.assert_close(value, ckpt['state_dict'][f'backbone.{key}'], rtol=0, atol=0)


def test_converted_encoder_state_dict_drops_head_and_prefixes():
    ckpt = _vitpose_checkpoint()
    ddp_style = {f'module.{k}': v for k, v in ckpt['state_dict'].items()}
    for source in (ckpt, ckpt['state_dict'], ddp_style):
        state = vitpose_encoder_state_dict(source)
        assert 'pos_embed' in state and 'blocks.1.mlp.fc2.weight' in state
        assert not any(k.startswith(('backbone.', 'module.', 'keypoint_head.')) for k in state)
    stripped = {k[len('backbone.'):]: v for k, v in ckpt['state_dict'].items()
                if k.startswith('backbone.')}
    assert list(vitpose_encoder_state_dict(stripped)) == list(stripped)


def test_wrong_size_is_refused_with_names():
    vit = MODELS.build(dict(TINY_VIT, init_cfg=None))
    bigger = vitpose_encoder_state_dict(_vitpose_checkpoint(embed_dim=64, depth=3))
    with pytest.raises(ViTPoseCheckpointError, match=r'embed_dim 64, depth 3.*embed_dim 32'):
        load_vitpose_into_encoder(vit, bigger, 'vitpose_b.pth')
    shallow = vitpose_encoder_state_dict(_vitpose_checkpoint())
    del shallow['blocks.1.attn.qkv.weight']
    shallow['extra.weight'] = torch.zeros(1)
    with pytest.raises(ViTPoseCheckpointError,
                       match=r'missing key.*blocks\.1\.attn\.qkv\.weight.*unexpected.*extra'):
        load_vitpose_into_encoder(vit, shallow, 'partial.pth')


def test_checkpoint_with_only_a_keypoint_head_is_refused():
    with pytest.raises(ViTPoseCheckpointError, match='no encoder weights'):
        vitpose_encoder_state_dict({'state_dict': {'keypoint_head.w': torch.zeros(1)}})


def test_loading_is_weights_only(tmp_path, scope):
    class Payload:

        def __reduce__(self):
            return (print, ('unpickled',))

    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': Payload()}, path)
    vit = MODELS.build(dict(TINY_VIT, init_cfg=dict(type='ViTPosePretrained',
                                                    checkpoint=str(path))))
    with pytest.raises(CheckpointFormatError, match='evil.pth'):
        vit.init_weights()


def test_missing_file_names_it(tmp_path, scope):
    vit = MODELS.build(dict(TINY_VIT, init_cfg=dict(type='ViTPosePretrained',
                                                    checkpoint=str(tmp_path / 'nope.pth'))))
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        vit.init_weights()
