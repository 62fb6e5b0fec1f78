"""The inference shortcuts of the head must give the results of the plain computation."""

import pytest
import torch

from smplestx.models.heads.smplx_transformer_head import ROTATION_KEYS
from smplestx.models.heads.transformer_decoder import SelfAttention
from smplestx.models.utils.rotation import rot6d_to_axis_angle
from smplestx.registry import MODELS
from smplestx.testing.tolerance import assert_close_at_scale


@pytest.mark.parametrize('attn_impl', ['sdpa', 'explicit'])
def test_self_attention_query_subset_equals_full_rows(attn_impl):
    """Projecting queries for the first tokens only equals slicing the full result."""
    torch.manual_seed(0)
    attn = SelfAttention(dim=48, num_heads=4, head_dim=16, attn_impl=attn_impl).eval()
    x = torch.randn(3, 30, 48)
    with torch.no_grad():
        full = attn(x)
        part = attn(x, num_queries=7)
    assert part.shape == (3, 7, 48)
    assert_close_at_scale(part, full[:, :7])  # other row counts, other GEMM blocking


def test_self_attention_query_subset_keeps_gradients():
    torch.manual_seed(0)
    attn = SelfAttention(dim=16, num_heads=2, head_dim=8)
    attn(torch.randn(2, 10, 16), num_queries=3).sum().backward()
    assert attn.to_qkv.weight.grad is not None
    # Key and value rows of the projection get gradients too, not only the query rows.
    assert attn.to_qkv.weight.grad[16:].abs().sum() > 0


def _raw_rotations(batch, with_hand_roots):
    torch.manual_seed(1)
    widths = dict(body_root_pose=6, body_pose=126, lhand_pose=90, rhand_pose=90,
                  face_jaw_pose=6)
    if with_hand_roots:
        widths.update(lhand_root_pose=6, rhand_root_pose=6)
    return {k: torch.randn(batch, w) for k, w in widths.items()}


@pytest.mark.parametrize('with_hand_roots', [False, True])
@pytest.mark.parametrize('batch', [1, 3, 4])
def test_batched_rotation_conversion_equals_per_part(batch, with_hand_roots):
    head = MODELS.build(dict(type='SMPLXTransformerHead', feat_dim=16, dim_out=8))
    raw = _raw_rotations(batch, with_hand_roots)
    out = head.rotations_to_axis_angle(raw)
    expected_keys = {ROTATION_KEYS[k] for k in raw}
    assert set(out) == expected_keys
    for raw_key, rot in raw.items():
        per_part = rot6d_to_axis_angle(rot.reshape(-1, 6)).reshape(batch, -1)
        # Same per-rotation arithmetic; SIMD tails may differ in the last bits.
        assert_close_at_scale(out[ROTATION_KEYS[raw_key]], per_part, msg=raw_key)


def test_rotation_conversion_with_cross_quirk_stays_per_part():
    """With the official quirk, a batch of 3 root poses is crossed over the batch axis."""
    head = MODELS.build(dict(type='SMPLXTransformerHead', feat_dim=16, dim_out=8,
                             official_cross_quirk=True))
    raw = _raw_rotations(3, with_hand_roots=False)
    out = head.rotations_to_axis_angle(raw)
    quirky = rot6d_to_axis_angle(raw['body_root_pose'], official_cross_quirk=True)
    clean = rot6d_to_axis_angle(raw['body_root_pose'])
    torch.testing.assert_close(out['root_pose'], quirky, rtol=0, atol=0)
    assert not torch.allclose(out['root_pose'], clean)
