from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from smplestx.models.utils.checkpoint_conversion import CheckpointMismatchError
from smplestx.registry import MODELS
from smplestx.structures import SMPLXDataSample
from smplestx.testing.official_io import official_crops, official_train_samples
from smplestx.testing.official_reference import OfficialReferenceNet, official_decode
from smplestx.testing.tolerance import FP32_EPS, assert_close_at_scale

REPO = Path(__file__).resolve().parents[3]
CONFIGS = REPO / 'configs' / 'smplestx'
TINY_CONFIG = CONFIGS / 'smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'
TEST_OUT_KEYS = ('smplx_root_pose', 'smplx_body_pose', 'smplx_lhand_pose', 'smplx_rhand_pose',
                 'smplx_jaw_pose', 'smplx_shape', 'smplx_expr', 'cam_trans', 'smplx_mesh_cam',
                 'smplx_joint_proj', 'smplx_joint_cam')
LOSS_KEYS = ('smplx_orient', 'smplx_pose', 'smplx_shape', 'smplx_expr', 'joint_cam',
             'smplx_joint_cam', 'joint_proj', 'hand_root', 'hand_root_chain')


def build_tiny(body_model_path, **head_overrides):
    cfg = Config.fromfile(str(TINY_CONFIG))
    init_default_scope('smplestx')
    cfg.model.head.body_model.body_model_dir = str(body_model_path)
    cfg.model.head.update(head_overrides)
    return MODELS.build(cfg.model)


def network_input(model, official_io):
    return model.data_preprocessor(dict(inputs=official_crops(official_io)))['inputs']


@pytest.fixture(scope='module')
def tiny_model(body_model_path, official_tiny_path):
    model = build_tiny(body_model_path)
    load_checkpoint(model, str(official_tiny_path / 'snapshot_0.pth.tar'), map_location='cpu')
    return model.eval()


def assert_test_outputs(out, official_io):
    """Compare with the official test outputs at float32 network tolerance.

    Our forward and the fixture's run on different GEMM kernels (the fixture was made on
    another CPU, and SDPA sums attention in another order than the explicit path), so each
    output may differ by rounding steps of its own scale: the bound is
    ``1e-5 + 1e-5 * max|expected|`` per quantity (:mod:`smplestx.testing.tolerance`). For the
    projections in heatmap units (up to ~16) that is ~1.6e-4, for rotations and metres ~2e-5.
    """
    for key in TEST_OUT_KEYS:
        assert_close_at_scale(out[key], official_io[f'test/out/{key}'], msg=key)


def test_official_checkpoint_loads_directly_and_matches_test_mode(tiny_model, official_io):
    with torch.no_grad():
        out = tiny_model(network_input(tiny_model, official_io), mode='tensor')
    assert set(out) == set(TEST_OUT_KEYS)
    assert_test_outputs(out, official_io)


def test_plain_load_state_dict_of_network_dict(body_model_path, official_tiny_path, official_io):
    ckpt = torch.load(official_tiny_path / 'snapshot_0.pth.tar', weights_only=True)
    model = build_tiny(body_model_path).eval()
    model.load_state_dict(ckpt['network'], strict=True)
    with torch.no_grad():
        out = model(network_input(model, official_io), mode='tensor')
    assert_test_outputs(out, official_io)


def test_explicit_attention_matches_official_and_sdpa(body_model_path, official_tiny_path,
                                                      official_io, tiny_model):
    model = build_tiny(body_model_path, attn_impl='explicit')
    model.backbone.attn_impl = 'explicit'
    load_checkpoint(model, str(official_tiny_path / 'snapshot_0.pth.tar'), map_location='cpu')
    img = network_input(model, official_io)
    with torch.no_grad():
        explicit = model.eval()(img, mode='tensor')
        sdpa = tiny_model(img, mode='tensor')
        raw_explicit = model.head(model.backbone(img))
        raw_sdpa = tiny_model.head(tiny_model.backbone(img))
    assert_test_outputs(explicit, official_io)
    for key in raw_sdpa:
        assert_close_at_scale(raw_explicit[key], raw_sdpa[key], msg=key)
    for key in TEST_OUT_KEYS:
        assert_close_at_scale(explicit[key], sdpa[key], msg=key)


def test_losses_match_official(body_model_path, official_tiny_path, official_io):
    model = build_tiny(body_model_path, loss=dict(type='SMPLestXLoss', official_broadcast=True))
    load_checkpoint(model, str(official_tiny_path / 'snapshot_0.pth.tar'), map_location='cpu')
    model.train()
    losses = model(network_input(model, official_io), official_train_samples(official_io),
                   mode='loss')
    assert set(losses) == {f'loss_{k}' for k in LOSS_KEYS}
    for key in LOSS_KEYS:
        expected = float(official_io[f'train/loss_mean/{key}'])
        assert float(losses[f'loss_{key}']) == pytest.approx(expected, rel=1e-5), key
    total = sum(float(v) for v in losses.values())
    assert total == pytest.approx(float(official_io['train/loss_sum']), rel=1e-5)
    sum(losses.values()).backward()
    assert model.backbone.task_tokens.grad is not None


def test_loss_names_missing_target(tiny_model, official_io):
    samples = official_train_samples(official_io)
    del samples[1].gt_instances.smplx_pose
    with pytest.raises(KeyError, match=r'data_samples\[1\].gt_instances has no `smplx_pose`'):
        tiny_model(network_input(tiny_model, official_io), samples, mode='loss')


def test_predict_packs_smplx_parameters_and_image_keypoints(tiny_model, official_io):
    img = network_input(tiny_model, official_io)
    bbox = np.array([10.0, 20.0, 150.0, 200.0], dtype=np.float32)
    samples = [SMPLXDataSample(metainfo=dict(bbox=bbox)), SMPLXDataSample()]
    with torch.no_grad():
        samples = tiny_model(img, samples, mode='predict')
        expected = tiny_model(img, mode='tensor')
    pred = samples[0].pred_instances
    shapes = dict(global_orient=(1, 3), body_pose=(1, 21, 3), left_hand_pose=(1, 15, 3),
                  right_hand_pose=(1, 15, 3), jaw_pose=(1, 3), betas=(1, 10),
                  expression=(1, 10), transl=(1, 3), vertices=(1, 10475, 3), joints=(1, 137, 3),
                  keypoints_2d_hm=(1, 137, 2), keypoints_2d=(1, 137, 2), focal=(1, 2),
                  princpt=(1, 2))
    for key, shape in shapes.items():
        assert tuple(pred.get(key).shape) == shape, key
    out = {k: v.numpy() for k, v in expected.items()}
    np.testing.assert_array_equal(pred.body_pose.numpy().reshape(-1), out['smplx_body_pose'][0])
    np.testing.assert_array_equal(pred.left_hand_pose.numpy().reshape(-1),
                                  out['smplx_lhand_pose'][0])
    np.testing.assert_array_equal(pred.global_orient.numpy()[0], out['smplx_root_pose'][0])
    np.testing.assert_array_equal(pred.betas.numpy()[0], out['smplx_shape'][0])
    np.testing.assert_array_equal(pred.transl.numpy()[0], out['cam_trans'][0])
    np.testing.assert_array_equal(pred.vertices.numpy()[0], out['smplx_mesh_cam'][0])
    np.testing.assert_array_equal(pred.keypoints_2d_hm.numpy()[0], out['smplx_joint_proj'][0])
    # Absolute joints minus the pelvis: a float32 subtraction of values up to |transl|.
    joints_scale = float(pred.joints.abs().max())
    assert_close_at_scale(pred.joints[0] - pred.joints[0, :1], out['smplx_joint_cam'][0],
                          rtol=0, atol=4 * FP32_EPS * joints_scale)
    np.testing.assert_allclose(pred.focal.numpy()[0], [5000 / 192 * 150, 5000 / 256 * 200],
                               rtol=1e-6)
    np.testing.assert_allclose(pred.princpt.numpy()[0], [10 + 75, 20 + 100], rtol=1e-6)
    # Absolute camera-frame joints projected with the image-space camera land on keypoints_2d.
    joints = pred.joints.numpy()[0]
    proj = joints[:, :2] / (joints[:, 2:] + 1e-4) * pred.focal.numpy() + pred.princpt.numpy()
    np.testing.assert_allclose(pred.keypoints_2d.numpy()[0], proj, rtol=0, atol=1e-3)
    hm = out['smplx_joint_proj'][0]
    np.testing.assert_allclose(pred.keypoints_2d.numpy()[0], hm * [150 / 12, 200 / 16] + [10, 20],
                               rtol=0, atol=1e-3)
    assert 'keypoints_2d' not in samples[1].pred_instances
    assert 'focal' not in samples[1].pred_instances


def test_batch_of_three_equals_single_crops(tiny_model, official_io):
    img = network_input(tiny_model, official_io)
    batch = torch.cat((img, img[:1].flip(-1)), dim=0)
    with torch.no_grad():
        together = tiny_model(batch, mode='tensor')
        alone = [tiny_model(batch[i:i + 1], mode='tensor') for i in range(3)]
    for key in TEST_OUT_KEYS:  # other row counts may use other GEMM kernels
        assert_close_at_scale(together[key], torch.cat([a[key] for a in alone]), msg=key)


def test_official_cross_quirk_changes_only_batches_of_three(tiny_model, official_io):
    img = network_input(tiny_model, official_io)
    batch = torch.cat((img, img[:1].flip(-1)), dim=0)
    with torch.no_grad():
        fixed = tiny_model(batch, mode='tensor')
        tiny_model.head.official_cross_quirk = True
        try:
            quirky = tiny_model(batch, mode='tensor')
            pair = tiny_model(img, mode='tensor')
        finally:
            tiny_model.head.official_cross_quirk = False
    assert not torch.allclose(quirky['smplx_root_pose'], fixed['smplx_root_pose'], atol=1e-3)
    assert not torch.allclose(quirky['smplx_jaw_pose'], fixed['smplx_jaw_pose'], atol=1e-3)
    torch.testing.assert_close(quirky['smplx_body_pose'], fixed['smplx_body_pose'])
    assert_test_outputs(pair, official_io)


def test_checkpoint_of_another_size_is_rejected_in_one_line(body_model_path, tmp_path):
    other = build_tiny(body_model_path)
    cfg = Config.fromfile(str(TINY_CONFIG))
    cfg.model.backbone.update(embed_dim=64, num_heads=4, depth=3)
    cfg.model.head.update(feat_dim=64, body_model=None, loss=None)
    init_default_scope('smplestx')
    bigger = MODELS.build(cfg.model)
    network = {('module.encoder.' + k[len('backbone.'):]) if k.startswith('backbone.') else
               ('module.decoder.' + k[len('head.'):]): v for k, v in bigger.state_dict().items()}
    path = tmp_path / 'snapshot_other.pth.tar'
    torch.save({'epoch': 3, 'network': network, 'optimizer': {}}, path)
    with pytest.raises(CheckpointMismatchError) as info:
        load_checkpoint(other, str(path), map_location='cpu')
    message = str(info.value)
    assert '\n' not in message
    assert 'embed_dim 64, depth 3 but the model expects embed_dim 32, depth 2' in message
    assert 'unexpected key(s): backbone.blocks.2.' in message
    assert 'shape mismatch' in message


def test_mmengine_checkpoint_of_another_size_fails_even_when_not_strict(body_model_path,
                                                                        tmp_path):
    # MMEngine's load_from loads non-strictly; a wrong-size model must still not load
    # (shape mismatches would otherwise stay randomly initialised behind a warning).
    other = build_tiny(body_model_path)
    cfg = Config.fromfile(str(TINY_CONFIG))
    cfg.model.backbone.update(embed_dim=64, num_heads=4)
    cfg.model.head.update(feat_dim=64, body_model=None, loss=None)
    init_default_scope('smplestx')
    path = tmp_path / 'other.pth'
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, path)
    before = other.backbone.task_tokens.detach().clone()
    with pytest.raises(CheckpointMismatchError) as info:
        load_checkpoint(other, str(path), map_location='cpu', strict=False)
    message = str(info.value)
    assert '\n' not in message and message.startswith('checkpoint does not fit the model: ')
    assert 'it has embed_dim 64, depth 2 but the model expects embed_dim 32, depth 2' in message
    assert "prefix='backbone.'" in message
    assert torch.equal(other.backbone.task_tokens, before)
    # Missing keys alone are the caller's business: a non-strict load of a part works.
    backbone_only = {k: v for k, v in other.state_dict().items() if k.startswith('backbone.')}
    torch.save({'state_dict': backbone_only}, path)
    load_checkpoint(other, str(path), map_location='cpu', strict=False)


def test_reference_implementation_matches_official_and_ours(tiny_model, official_io):
    """The benchmark's official-forward reference reproduces the fixture and our model."""
    ref = OfficialReferenceNet(embed_dim=32, depth=2, num_heads=4, dim_out=16).eval()
    ref.load_smplestx_state_dict(tiny_model.state_dict())
    with torch.no_grad():
        raw = ref(torch.from_numpy(official_io['inputs/img']))
        out = official_decode(raw, tiny_model.head.body_model)
    for key, value in raw.items():
        assert_close_at_scale(value, official_io[f'test/intermediate/decoder/{key}'], msg=key)
    assert_test_outputs(out, official_io)


def test_ours_matches_reference_at_full_readout_width():
    """Random weights with dim_out 512 and a wider encoder, network only."""
    torch.manual_seed(0)
    init_default_scope('smplestx')
    model = MODELS.build(dict(
        type='SMPLestX',
        backbone=dict(type='ViT', embed_dim=64, depth=2, num_heads=4),
        head=dict(type='SMPLXTransformerHead', feat_dim=64, skip_unused_heads=False))).eval()
    ref = OfficialReferenceNet(embed_dim=64, depth=2, num_heads=4).eval()
    ref.load_smplestx_state_dict(model.state_dict())
    img = torch.rand(2, 3, 512, 384)
    with torch.no_grad():
        ours = model.head(model.backbone(img[..., ::2, ::2]))
        theirs = ref(img)
    assert set(ours) == set(theirs)
    for key in ours:
        assert_close_at_scale(ours[key], theirs[key], msg=key)


# Spec §2.9: (encoder, decoder+heads) parameters with feat_dim = C.
PARAM_COUNTS = {
    's': (21_694_464, 15_711_344),
    'b': (85_856_256, 30_708_080),
    'l': (303_378_432, 42_671_984),
    'h': (631_014_400, 56_208_752),
}


@pytest.mark.parametrize('size', sorted(PARAM_COUNTS))
def test_param_counts_of_size_configs(size):
    path = CONFIGS / f'smplestx_vit-{size}_16xb16-20e_h40-256x192.py'
    cfg = Config.fromfile(str(path))
    init_default_scope('smplestx')
    cfg.model.head.update(body_model=None, loss=None)
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    encoder = sum(p.numel() for p in model.backbone.parameters())
    decoder = sum(p.numel() for p in model.head.parameters())
    assert (encoder, decoder) == PARAM_COUNTS[size]
    if size == 'h':
        assert encoder + decoder == 687_223_152
        assert len(model.state_dict()) == 519


def test_bad_mode_and_missing_samples(tiny_model):
    img = torch.zeros(1, 3, 256, 192)
    with pytest.raises(ValueError, match='mode must be'):
        tiny_model(img, mode='train')
    with pytest.raises(ValueError, match='one data sample per image'):
        tiny_model(img, None, mode='predict')
