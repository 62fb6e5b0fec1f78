"""The benchmark's official-forward reference does the official decoding work faithfully."""

import pytest
import torch

from smplestx.models.body_models import SMPLXBodyModel
from smplestx.models.utils.camera import get_camera_trans
from smplestx.models.utils.rotation import batch_rodrigues, rot6d_to_axis_angle
from smplestx.testing.official_reference import (
    OfficialReferenceNet,
    official_batch_rodrigues,
    official_camera_trans,
    official_decode,
    official_get_coord,
    official_rot6d_to_axis_angle,
)
from smplestx.testing.tolerance import assert_close_at_scale


@pytest.mark.parametrize('count', [1, 2, 4, 21, 64])
def test_official_rot6d_conversion_matches_ours(count):
    torch.manual_seed(count)
    x = torch.randn(count, 6)
    assert_close_at_scale(official_rot6d_to_axis_angle(x), rot6d_to_axis_angle(x))


def test_official_rot6d_conversion_has_the_cross_quirk_for_three():
    torch.manual_seed(0)
    x = torch.randn(3, 6)
    assert_close_at_scale(official_rot6d_to_axis_angle(x),
                          rot6d_to_axis_angle(x, official_cross_quirk=True))
    assert not torch.allclose(official_rot6d_to_axis_angle(x), rot6d_to_axis_angle(x))


def test_official_rot6d_conversion_of_degenerate_input_is_finite():
    out = official_rot6d_to_axis_angle(torch.zeros(2, 6))
    assert torch.isfinite(out).all()


def test_official_rodrigues_and_camera_match_ours():
    torch.manual_seed(0)
    aa = torch.randn(50, 3) * 2
    assert_close_at_scale(official_batch_rodrigues(aa), batch_rodrigues(aa))
    cam = torch.randn(5, 3)
    assert_close_at_scale(official_camera_trans(cam, (5000., 5000.), (256, 192), 2.5),
                          get_camera_trans(cam))


@pytest.fixture(scope='module')
def body_model(body_model_path):
    return SMPLXBodyModel(str(body_model_path))


def test_official_get_coord_matches_body_model(body_model):
    torch.manual_seed(0)
    b = 2
    args = (torch.randn(b, 3) * 0.3, torch.randn(b, 63) * 0.3, torch.randn(b, 45) * 0.3,
            torch.randn(b, 45) * 0.3, torch.randn(b, 3) * 0.3, torch.randn(b, 10),
            torch.randn(b, 10), torch.tensor([[0.1, -0.2, 8.0], [0.0, 0.1, 12.0]]))
    with torch.no_grad():
        theirs = official_get_coord(body_model, *args)
        ours = body_model.get_coord(*args)
    assert set(theirs) == set(ours)
    for key in ours:
        assert_close_at_scale(theirs[key], ours[key], msg=key)


def test_official_decode_of_ours_matches_our_decode(body_model):
    """Full reference (network + official decode) vs our model with the same weights."""
    from mmengine.registry import init_default_scope

    from smplestx.registry import MODELS

    torch.manual_seed(0)
    init_default_scope('smplestx')
    model = MODELS.build(dict(
        type='SMPLestX',
        backbone=dict(type='ViT', embed_dim=32, depth=1, num_heads=4),
        head=dict(type='SMPLXTransformerHead', feat_dim=32, dim_out=16))).eval()
    model.head.body_model = body_model
    ref = OfficialReferenceNet(embed_dim=32, depth=1, num_heads=4, dim_out=16).eval()
    ref.load_smplestx_state_dict(
        {k: v for k, v in model.state_dict().items() if 'body_model' not in k})
    img = torch.rand(2, 3, 512, 384)
    with torch.no_grad():
        ours = model(img[..., ::2, ::2], mode='tensor')
        theirs = official_decode(ref(img), body_model)
    assert set(ours) == set(theirs)
    for key in ours:
        assert_close_at_scale(ours[key], theirs[key], msg=key)
