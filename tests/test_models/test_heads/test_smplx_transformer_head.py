import pytest
import torch

from smplestx.models.heads import SMPLXTransformerHead
from smplestx.models.heads.smplx_transformer_head import UNUSED_READOUTS
from smplestx.registry import MODELS
from smplestx.testing.tolerance import assert_close_at_scale

RAW_KEYS = ('body_root_pose', 'body_pose', 'body_betas', 'body_cam', 'lhand_root_pose',
            'rhand_root_pose', 'lhand_pose', 'rhand_pose', 'lhand_cam', 'rhand_cam',
            'face_root_pose', 'face_expression', 'face_jaw_pose', 'face_cam')


def _official_decoder(official_tiny_path):
    ckpt = torch.load(official_tiny_path / 'snapshot_0.pth.tar', map_location='cpu',
                      weights_only=True)
    prefix = 'module.decoder.'
    return {k[len(prefix):]: v for k, v in ckpt['network'].items() if k.startswith(prefix)}


def _encoder_outputs(official_io):
    img_feat = torch.from_numpy(official_io['test/intermediate/encoder_img_feat'])
    tokens = torch.from_numpy(official_io['test/intermediate/encoder_task_tokens'])
    return img_feat, tokens


@pytest.mark.parametrize('attn_impl', ['sdpa', 'explicit'])
def test_head_matches_official_decoder(official_tiny_path, official_io, attn_impl):
    head = MODELS.build(dict(type='SMPLXTransformerHead', feat_dim=32, dim_out=16,
                             attn_impl=attn_impl, skip_unused_heads=False)).eval()
    head.load_state_dict(_official_decoder(official_tiny_path), strict=True)
    with torch.no_grad():
        raw = head(_encoder_outputs(official_io))
    assert set(raw) == set(RAW_KEYS)
    for key in RAW_KEYS:
        expected = official_io[f'test/intermediate/decoder/{key}']
        assert raw[key].shape == expected.shape, key
        assert_close_at_scale(raw[key], expected, msg=key)


def test_param_names_and_count_match_official(official_tiny_path):
    head = SMPLXTransformerHead(feat_dim=32, dim_out=16)
    official = _official_decoder(official_tiny_path)
    assert {k: tuple(v.shape) for k, v in head.state_dict().items()} == {
        k: tuple(v.shape) for k, v in official.items()}
    assert sum(p.numel() for p in head.parameters()) == 937056


def test_skip_unused_heads_in_eval_only():
    torch.manual_seed(0)
    head = SMPLXTransformerHead(feat_dim=16, dim_out=8, skip_unused_heads=True)
    feats = (torch.rand(2, 16, 16, 12), torch.rand(2, 80, 16))
    head.train()
    full = head(feats)
    assert set(full) == set(RAW_KEYS)
    head.eval()
    with torch.no_grad():
        lean = head(feats)
    dropped = {'lhand_cam', 'rhand_cam', 'face_root_pose', 'face_cam', 'lhand_root_pose',
               'rhand_root_pose'}
    assert set(lean) == set(RAW_KEYS) - dropped
    for key in lean:
        torch.testing.assert_close(lean[key], full[key])
    assert set(UNUSED_READOUTS) == {'dec_hand_cam', 'dec_face_root_pose', 'dec_face_cam'}


def test_truncated_last_layer_equals_full_decoder():
    """Only the 80 task tokens leave the decoder; the last layer computes just those."""
    torch.manual_seed(0)
    head = SMPLXTransformerHead(feat_dim=16, dim_out=8, depth=2).eval()
    tokens = torch.rand(2, 272, 16)
    context = tokens[:, 80:]
    with torch.no_grad():
        full = head.transformer(tokens, context)
        cut = head.transformer(tokens, context, num_out_tokens=80)
    assert cut.shape == (2, 80, 16)
    assert_close_at_scale(cut, full[:, :80])


def test_sdpa_equals_explicit_and_batch_independent():
    torch.manual_seed(0)
    head = SMPLXTransformerHead(feat_dim=16, dim_out=8, skip_unused_heads=False).eval()
    feats = (torch.rand(3, 16, 16, 12), torch.rand(3, 80, 16))
    with torch.no_grad():
        sdpa = head(feats)
        head.set_attn_impl('explicit')
        explicit = head(feats)
        single = head((feats[0][2:], feats[1][2:]))
    for key in sdpa:
        assert_close_at_scale(sdpa[key], explicit[key], msg=key)
        assert_close_at_scale(single[key], explicit[key][2:], msg=key)


def test_errors():
    with pytest.raises(ValueError, match='80 task'):
        SMPLXTransformerHead(feat_dim=16, num_task_tokens=31)
    head = SMPLXTransformerHead(feat_dim=16, dim_out=8)
    with pytest.raises(RuntimeError, match='body_model'):
        head.decode({})
