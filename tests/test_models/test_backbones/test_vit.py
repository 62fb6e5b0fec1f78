import numpy as np
import pytest
import torch

from smplestx.models.backbones import ViT
from smplestx.registry import MODELS
from smplestx.testing.tolerance import assert_close_at_scale

TINY = dict(type='ViT', embed_dim=32, depth=2, num_heads=4, drop_path_rate=0.0)


def _official_encoder(official_tiny_path):
    ckpt = torch.load(official_tiny_path / 'snapshot_0.pth.tar', map_location='cpu',
                      weights_only=True)
    prefix = 'module.encoder.'
    return {k[len(prefix):]: v for k, v in ckpt['network'].items() if k.startswith(prefix)}


@pytest.mark.parametrize('attn_impl', ['sdpa', 'explicit'])
def test_vit_matches_official_encoder(official_tiny_path, official_io, attn_impl):
    vit = MODELS.build(dict(TINY, attn_impl=attn_impl)).eval()
    vit.load_state_dict(_official_encoder(official_tiny_path), strict=True)
    img = torch.from_numpy(np.ascontiguousarray(official_io['inputs/img'][:, :, ::2, ::2]))
    with torch.no_grad():
        img_feat, task_tokens = vit(img)
    assert img_feat.shape == (2, 32, 16, 12)
    assert task_tokens.shape == (2, 80, 32)
    assert_close_at_scale(img_feat, official_io['test/intermediate/encoder_img_feat'])
    assert_close_at_scale(task_tokens, official_io['test/intermediate/encoder_task_tokens'])


def test_vit_param_names_and_count_match_official(official_tiny_path):
    vit = ViT(embed_dim=32, depth=2, num_heads=4)
    official = _official_encoder(official_tiny_path)
    assert {k: tuple(v.shape) for k, v in vit.state_dict().items()} == {
        k: tuple(v.shape) for k, v in official.items()}
    assert sum(p.numel() for p in vit.parameters()) == 58816


def test_sdpa_equals_explicit_and_batch_independent():
    torch.manual_seed(0)
    vit = ViT(embed_dim=32, depth=2, num_heads=4).eval()
    x = torch.rand(3, 3, 256, 192)
    with torch.no_grad():
        feat_sdpa, tok_sdpa = vit(x)
        vit.attn_impl = 'explicit'
        feat_exp, tok_exp = vit(x)
        feat_one, tok_one = vit(x[1:2])
    assert_close_at_scale(feat_sdpa, feat_exp)
    assert_close_at_scale(tok_sdpa, tok_exp)
    assert_close_at_scale(feat_one, feat_exp[1:2])
    assert_close_at_scale(tok_one, tok_exp[1:2])


def test_pos_embed_quirk_and_task_tokens_without_pos():
    """Patches get pos_embed[1:] + pos_embed[0]; task tokens get no positional term."""
    vit = ViT(embed_dim=8, depth=0, num_heads=2).eval()
    with torch.no_grad():
        vit.last_norm.weight.fill_(1.0)
        vit.pos_embed.zero_()
        x = torch.rand(1, 3, 256, 192)
        feat0, tok0 = vit(x)
        vit.pos_embed[:, 0] = 3.0
        feat1, tok1 = vit(x)
    torch.testing.assert_close(tok0, tok1)
    # A constant shift of every patch channel vanishes under LayerNorm, so shift one channel.
    with torch.no_grad():
        vit.pos_embed.zero_()
        vit.pos_embed[:, 0, 0] = 3.0
        feat2, _ = vit(x)
    assert not torch.allclose(feat0, feat2)


def test_gradient_checkpointing_gives_same_gradients():
    torch.manual_seed(0)
    plain = ViT(embed_dim=16, depth=2, num_heads=2)
    ckpt = ViT(embed_dim=16, depth=2, num_heads=2, use_checkpoint=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, 256, 192)
    grads = []
    for model in (plain, ckpt):
        model.train()
        feat, tok = model(x)
        (feat.square().sum() + tok.sum()).backward()
        grads.append(model.blocks[0].attn.qkv.weight.grad.clone())
    torch.testing.assert_close(grads[0], grads[1])


def test_frozen_stages():
    vit = ViT(embed_dim=16, depth=3, num_heads=2, frozen_stages=2)
    vit.train()
    assert not vit.patch_embed.proj.weight.requires_grad
    assert not vit.pos_embed.requires_grad
    assert not any(p.requires_grad for p in vit.blocks[1].parameters())
    assert all(p.requires_grad for p in vit.blocks[2].parameters())
    assert vit.task_tokens.requires_grad
    assert not vit.blocks[0].training and vit.blocks[2].training


def test_drop_path_rates_and_errors():
    vit = ViT(embed_dim=16, depth=3, num_heads=2, drop_path_rate=0.2)
    assert isinstance(vit.blocks[0].drop_path, torch.nn.Identity)
    assert vit.blocks[2].drop_path.drop_prob == pytest.approx(0.2)
    with pytest.raises(ValueError, match='expects input of size'):
        vit(torch.rand(1, 3, 224, 224))
    with pytest.raises(ValueError, match='attn_impl'):
        ViT(embed_dim=16, depth=1, num_heads=2, attn_impl='flash')
    with pytest.raises(ValueError, match='divisible'):
        ViT(embed_dim=18, depth=1, num_heads=4)
