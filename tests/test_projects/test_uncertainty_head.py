import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper
from mmengine.runner import load_checkpoint
from project_utils import build_model, project_config

from smplestx.models.estimators import SMPLestX
from smplestx.models.utils.checkpoint_conversion import (
    CheckpointMismatchError,
    load_official_checkpoint,
)
from smplestx.models.utils.rotation import batch_rodrigues
from smplestx.registry import METRICS
from smplestx.testing.official_io import official_crops, official_train_samples
from smplestx.testing.tolerance import assert_close_at_scale

CONFIG = 'uncertainty_head/configs/uncertainty-head_vit-tiny_frozen_1xb2-40it_synthetic-256x192.py'
NEW_PREFIX = 'head.uncertainty.'
TEST_OUT_KEYS = ('smplx_root_pose', 'smplx_body_pose', 'smplx_lhand_pose', 'smplx_rhand_pose',
                 'smplx_jaw_pose', 'smplx_shape', 'smplx_expr', 'cam_trans', 'smplx_mesh_cam',
                 'smplx_joint_proj', 'smplx_joint_cam')


@pytest.fixture(scope='module')
def cfg(body_models_env):
    return project_config(CONFIG, body_models_env)


@pytest.fixture(scope='module')
def snapshot(official_tiny_path):
    return official_tiny_path / 'snapshot_0.pth.tar'


@pytest.fixture(scope='module')
def loaded(cfg, snapshot):
    """(model, fresh state dict before loading, load result) with the official snapshot."""
    model = build_model(cfg)
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    result = model.load_state_dict(torch.load(snapshot, weights_only=True), strict=False)
    return model, fresh, result


def test_config_builds_through_the_registry(cfg):
    from projects.uncertainty_head.uncertainty_head import (
        SMPLXGaussianNLLLoss,
        SMPLXUncertaintyHead,
        SMPLXUncertaintyMetric,
        TokenVarianceReadout,
    )
    assert cfg.custom_imports.imports == ['projects.uncertainty_head.uncertainty_head']
    assert '_delete_' not in cfg.pretty_text
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    model = build_model(cfg)
    assert type(model) is SMPLestX
    assert isinstance(model.head, SMPLXUncertaintyHead)
    assert isinstance(model.head.uncertainty, TokenVarianceReadout)
    assert isinstance(model.head.nll_loss, SMPLXGaussianNLLLoss)
    assert model.head.loss_module is None
    assert model.allow_missing_prefixes == (NEW_PREFIX, )
    metrics = [METRICS.build(m) for m in cfg.test_evaluator]
    assert isinstance(metrics[1], SMPLXUncertaintyMetric)


def test_official_checkpoint_fills_shared_weights_and_leaves_new_head_fresh(loaded, snapshot):
    model, fresh, result = loaded
    state = model.state_dict()
    new_keys = sorted(k for k in state if k.startswith(NEW_PREFIX))
    assert new_keys, 'the project head has no new parameters'
    assert sorted(result.missing_keys) == new_keys
    assert result.unexpected_keys == []
    converted = load_official_checkpoint(snapshot)
    assert set(converted) == set(state) - set(new_keys)
    for key, value in converted.items():
        assert torch.equal(state[key], value), key
    for key in new_keys:
        assert torch.equal(state[key], fresh[key]), key


def test_strict_mmengine_load_names_exactly_the_new_head(cfg, snapshot):
    model = build_model(cfg)
    with pytest.raises(RuntimeError) as info:
        load_checkpoint(model, str(snapshot), map_location='cpu', strict=True)
    message = str(info.value)
    listed = message.split('missing keys in source state_dict: ')[1].split('\n')[0]
    assert sorted(listed.split(', ')) == sorted(k for k in model.state_dict()
                                               if k.startswith(NEW_PREFIX))
    assert 'unexpected key' not in message


def test_without_allow_missing_prefixes_the_load_is_refused(cfg, snapshot):
    strict_cfg = cfg.copy()
    strict_cfg.model = cfg.model.copy()
    strict_cfg.model.allow_missing_prefixes = []
    model = build_model(strict_cfg)
    with pytest.raises(CheckpointMismatchError, match=r'missing key\(s\): head\.uncertainty\.'):
        model.load_state_dict(torch.load(snapshot, weights_only=True), strict=False)


def test_unknown_prefix_is_rejected(cfg):
    bad = cfg.copy()
    bad.model = cfg.model.copy()
    bad.model.allow_missing_prefixes = ['head.uncertanity.']
    with pytest.raises(ValueError, match="'head.uncertanity.' matches no state-dict key"):
        build_model(bad)


def test_pretrained_predictions_are_the_official_ones(loaded, official_io):
    model = loaded[0].eval()
    with torch.no_grad():
        inputs = model.data_preprocessor(dict(inputs=official_crops(official_io)))['inputs']
        out = model(inputs, mode='tensor')
    for key in TEST_OUT_KEYS:
        assert_close_at_scale(out[key], official_io[f'test/out/{key}'], msg=key)


def test_predict_adds_log_variances(loaded, official_io):
    model = loaded[0].eval()
    with torch.no_grad():
        inputs = model.data_preprocessor(dict(inputs=official_crops(official_io)))['inputs']
        samples = model(inputs, official_train_samples(official_io), mode='predict')
        out = model(inputs, mode='tensor')
    for i, sample in enumerate(samples):
        pred = sample.pred_instances
        assert pred.pose_log_var.shape == (1, 53)
        assert pred.betas_log_var.shape == (1, 10)
        assert pred.expression_log_var.shape == (1, 10)
        assert torch.isfinite(pred.pose_log_var).all()
        torch.testing.assert_close(pred.betas[0], out['smplx_shape'][i], rtol=0, atol=0)
        torch.testing.assert_close(pred.vertices[0], out['smplx_mesh_cam'][i], rtol=0, atol=0)


def test_one_train_step_changes_only_the_trainable_parameters(cfg, snapshot, official_io):
    model = build_model(cfg)
    model.load_state_dict(torch.load(snapshot, weights_only=True), strict=False)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    lrs = {id(p): group['lr'] for group in optim_wrapper.optimizer.param_groups
           for p in group['params']}
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    model.train()
    data = dict(inputs=official_crops(official_io),
                data_samples=official_train_samples(official_io))
    log_vars = model.train_step(data, optim_wrapper)
    assert set(log_vars) == {'loss', 'loss_nll_pose', 'loss_nll_shape', 'loss_nll_expr'}
    assert math.isfinite(float(log_vars['loss'].detach()))
    for name, param in model.named_parameters():
        trainable = name.startswith(NEW_PREFIX)
        lr = lrs.get(id(param))  # MMEngine leaves requires_grad=False parameters out
        assert lr is not None or not param.requires_grad, name
        assert (lr or 0.0) > 0 if trainable else not lr, name
        if trainable:
            assert not torch.equal(param.detach(), before[name]), name
        else:
            assert torch.equal(param.detach(), before[name]), name
    frozen_blocks = [p for n, p in model.named_parameters() if n.startswith('backbone.blocks.')]
    assert frozen_blocks and not any(p.requires_grad for p in frozen_blocks)


def test_nll_loss_matches_torch_gaussian_nll():
    from projects.uncertainty_head.uncertainty_head import SMPLXGaussianNLLLoss
    torch.manual_seed(0)
    batch = 3
    gt_pose = torch.randn(batch, 159) * 0.3
    pred_rotmat = batch_rodrigues(gt_pose.reshape(batch, 53, 3) + 0.1 * torch.randn(batch, 53, 3))
    mean = dict(pose_rotmat=pred_rotmat, shape=torch.randn(batch, 10), expr=torch.randn(batch, 10))
    log_var = dict(pose_log_var=torch.randn(batch, 53), shape_log_var=torch.randn(batch, 10),
                   expr_log_var=torch.randn(batch, 10))
    rot_valid = torch.ones(batch, 53)
    rot_valid[0, 5:] = 0
    gt = dict(smplx_pose=gt_pose, smplx_shape=torch.randn(batch, 10),
              smplx_expr=torch.randn(batch, 10),
              smplx_pose_valid=rot_valid.repeat_interleave(9, dim=1),
              smplx_shape_valid=torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64),
              smplx_expr_valid=torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))
    losses = SMPLXGaussianNLLLoss(pose_weight=2.0, full=True)(mean, log_var, gt)

    gt_rotmat = batch_rodrigues(gt_pose.reshape(batch, 53, 3))
    keep = rot_valid.bool()
    expected_pose = F.gaussian_nll_loss(
        mean['pose_rotmat'][keep].flatten(1), gt_rotmat[keep].flatten(1),
        log_var['pose_log_var'][keep].exp()[:, None].expand(-1, 9), full=True, eps=0)
    torch.testing.assert_close(losses['loss_nll_pose'], 2.0 * expected_pose)
    shape_rows = [0, 2]
    expected_shape = F.gaussian_nll_loss(
        mean['shape'][shape_rows], gt['smplx_shape'][shape_rows],
        log_var['shape_log_var'][shape_rows].exp(), full=True, eps=0)
    torch.testing.assert_close(losses['loss_nll_shape'], expected_shape)
    expected_expr = F.gaussian_nll_loss(mean['expr'][2], gt['smplx_expr'][2],
                                        log_var['expr_log_var'][2].exp(), full=True, eps=0)
    torch.testing.assert_close(losses['loss_nll_expr'], expected_expr)


def test_nll_loss_with_no_valid_entry_is_zero():
    from projects.uncertainty_head.uncertainty_head import SMPLXGaussianNLLLoss
    mean = dict(pose_rotmat=torch.eye(3).expand(1, 53, 3, 3), shape=torch.ones(1, 10),
                expr=torch.ones(1, 10))
    log_var = dict(pose_log_var=torch.zeros(1, 53), shape_log_var=torch.zeros(1, 10),
                   expr_log_var=torch.zeros(1, 10))
    gt = dict(smplx_pose=torch.zeros(1, 159), smplx_shape=torch.zeros(1, 10),
              smplx_expr=torch.zeros(1, 10), smplx_pose_valid=torch.zeros(1, 477),
              smplx_shape_valid=torch.zeros(1), smplx_expr_valid=torch.zeros(1))
    losses = SMPLXGaussianNLLLoss()(mean, log_var, gt)
    assert all(float(v) == 0.0 for v in losses.values())


def test_variance_readout_reads_the_documented_token_slots():
    from projects.uncertainty_head.uncertainty_head import TokenVarianceReadout
    from projects.uncertainty_head.uncertainty_head.token_variance import (
        EXPRESSION_SLOTS,
        ROTATION_SLOTS,
        SHAPE_SLOTS,
    )
    assert ROTATION_SLOTS == (0, *range(1, 22), *range(35, 65), 78)
    assert SHAPE_SLOTS == tuple(range(22, 32))
    assert EXPRESSION_SLOTS == tuple(range(68, 78))
    torch.manual_seed(0)
    readout = TokenVarianceReadout(in_channels=8, hidden_channels=4, log_var_range=(-3, 3))
    tokens = torch.randn(2, 80, 8)
    out = readout(tokens)
    changed = tokens.clone()
    changed[:, [32, 33, 34, 65, 66, 67, 79]] += 100.0  # cameras and hand/face roots
    assert all(torch.equal(out[k], v) for k, v in readout(changed).items())
    # The jaw token moves the last rotation only. The change is not a constant offset (the
    # readout's LayerNorm removes those) and the output stays inside the clamp range, so the
    # jaw's log-variance moves by far more than rounding.
    changed[:, 78] += torch.linspace(-1.0, 1.0, 8)
    moved = readout(changed)['pose_log_var']
    assert torch.equal(moved[:, :52], out['pose_log_var'][:, :52])
    assert float(out['pose_log_var'][:, 52].abs().max()) < 3.0
    assert float((moved[:, 52] - out['pose_log_var'][:, 52]).abs().min()) > 1e-3
    big = readout(tokens * 1e4)
    assert all(float(v.abs().max()) <= 3.0 for v in big.values())
    with pytest.raises(ValueError, match=r'expects task tokens \(B, 80, C\)'):
        readout(tokens[:, :40])


def _metric_sample(pose_err, log_var, valid=1.0):
    from mmengine.structures import InstanceData

    from smplestx.structures import SMPLXDataSample
    gt_pose = torch.zeros(1, 159)
    pose = torch.zeros(1, 53, 3)
    pose[0, :, 0] = pose_err
    pred = InstanceData(global_orient=pose[:, 0], body_pose=pose[:, 1:22],
                        left_hand_pose=pose[:, 22:37], right_hand_pose=pose[:, 37:52],
                        jaw_pose=pose[:, 52], betas=torch.full((1, 10), pose_err),
                        expression=torch.zeros(1, 10),
                        pose_log_var=torch.full((1, 53), log_var),
                        betas_log_var=torch.full((1, 10), log_var),
                        expression_log_var=torch.full((1, 10), log_var))
    gt = InstanceData(smplx_pose=gt_pose, smplx_shape=torch.zeros(1, 10),
                      smplx_expr=torch.zeros(1, 10), smplx_pose_valid=torch.full((1, 477), valid),
                      smplx_shape_valid=torch.tensor([valid]), smplx_expr_valid=torch.ones(1))
    return SMPLXDataSample(pred_instances=pred, gt_instances=gt)


def test_uncertainty_metric():
    from projects.uncertainty_head.uncertainty_head import SMPLXUncertaintyMetric
    metric = SMPLXUncertaintyMetric()
    samples = [_metric_sample(0.1, -4.0), _metric_sample(0.3, -2.0), _metric_sample(0.5, 0.0),
               _metric_sample(2.0, -9.0, valid=0.0)]  # the invalid one would spoil both
    no_params = _metric_sample(0.1, 0.0)
    del no_params.gt_instances.smplx_pose  # mesh-only ground truth: skipped
    metric.process({}, samples + [no_params])
    results = metric.compute_metrics(metric.results)
    assert results['spearman/pose'] == pytest.approx(1.0)
    assert results['spearman/shape'] == pytest.approx(1.0)
    assert math.isnan(results['spearman/expr'])  # zero error everywhere: undefined
    # Rotation about x by a: |R - I|_F^2 = 2 (1 - cos a)^2 + 2 sin^2 a, averaged over 9 entries.
    nll = [0.5 * (lv + (2 * (1 - math.cos(a)) ** 2 + 2 * math.sin(a) ** 2) / 9 / math.exp(lv))
           for a, lv in ((0.1, -4.0), (0.3, -2.0), (0.5, 0.0))]
    assert results['nll/pose'] == pytest.approx(sum(nll) / 3, rel=1e-6)
    shape_nll = [0.5 * (lv + a * a / math.exp(lv)) for a, lv in ((0.1, -4.0), (0.3, -2.0),
                                                                  (0.5, 0.0))]
    assert results['nll/shape'] == pytest.approx(sum(shape_nll) / 3, rel=1e-6)
    assert results['nll/expr'] == pytest.approx(0.5 * (-4.0 - 2.0 + 0.0 - 9.0) / 4, rel=1e-6)


def test_vit_h_config_freezes_the_released_model(body_models_env):
    cfg = project_config('uncertainty_head/configs/'
                         'uncertainty-head_vit-h_frozen_16xb16-2e_h40-256x192.py', body_models_env)
    assert cfg.custom_imports.imports == ['projects.uncertainty_head.uncertainty_head']
    assert cfg.model.type == 'SMPLestX' and cfg.model.head.type == 'SMPLXUncertaintyHead'
    assert cfg.model.allow_missing_prefixes == [NEW_PREFIX]
    assert cfg.model.backbone.frozen_stages == cfg.model.backbone.depth == 32
    assert cfg.model.backbone.init_cfg is None
    assert cfg.model.head.feat_dim == 1280 and cfg.model.head.loss is None
    assert cfg.load_from.endswith('smplest_x_h.pth.tar')
    keys = cfg.optim_wrapper.paramwise_cfg.custom_keys
    assert keys['backbone'].lr_mult == keys['head'].lr_mult == 0.0
    assert keys['head.uncertainty'].lr_mult == 1.0
    assert '_delete_' not in cfg.optim_wrapper and cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert all('eta_min' not in s for s in cfg.param_scheduler)
    assert cfg.train_cfg.max_epochs == 2


def test_init_model_keeps_the_new_head_initialised(cfg, snapshot):
    """A model built on the meta device falls back to a real build for the new head."""
    from smplestx.apis import init_model

    model = init_model(cfg, str(snapshot), seed=3)
    fresh = init_model(cfg, None, seed=3)
    assert not any(t.is_meta for t in [*model.parameters(), *model.buffers()])
    state, fresh_state = model.state_dict(), fresh.state_dict()
    for key, value in load_official_checkpoint(snapshot).items():
        assert torch.equal(state[key], value), key
    new_keys = [k for k in state if k.startswith(NEW_PREFIX)]
    assert new_keys
    for key in new_keys:
        assert torch.equal(state[key], fresh_state[key]), key
