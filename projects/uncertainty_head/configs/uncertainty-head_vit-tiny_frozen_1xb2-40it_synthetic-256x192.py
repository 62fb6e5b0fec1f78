# Uncertainty head on the tiny SMPLest-X (sizes of the official_tiny fixture): smoke tests, CI.
#
# The pretrained encoder/decoder come from `load_from` and stay frozen; only the new
# `head.uncertainty` module trains, with a Gaussian NLL around the frozen predictions.
#
#   python tools/dataset_converters/make_synthetic_humandata.py --out-dir data/synthetic
#   python tools/train.py projects/uncertainty_head/configs/<this file> --cfg-options train_cfg.max_iters=2
#   python tools/test.py projects/uncertainty_head/configs/<this file> work_dirs/<this name>/iter_2.pth
#
# The SMPL-X folder comes from $SMPLESTX_BODY_MODELS (model, targets and metric).
# Model, data (synthetic set) and runtime come from the tiny SMPLest-X config.
_base_ = ['../../../configs/smplestx/smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py']

custom_imports = dict(imports=['projects.uncertainty_head.uncertainty_head'],
                      allow_failed_imports=False)

# --------------------------------------------------------------------------- model
# Official checkpoints lack the new module: its keys are the only ones allowed missing.
model = dict(
    allow_missing_prefixes=['head.uncertainty.'],
    # All 2 blocks and the patch/position embeddings: no gradients, eval mode.
    backbone=dict(frozen_stages=2),
    head=dict(
        type='SMPLXUncertaintyHead',
        loss=None,  # no SMPLest-X terms: the base is not trained here
        detach_mean=True,
        uncertainty=dict(type='TokenVarianceReadout', hidden_channels=32, init_log_var=-2.0,
                         log_var_range=(-10.0, 10.0), detach_input=True),
        nll_loss=dict(type='SMPLXGaussianNLLLoss', pose_weight=1.0, shape_weight=1.0,
                      expr_weight=1.0)))

# The official tiny checkpoint (shared test fixture); a converted MMEngine checkpoint of
# the same sizes works too.
load_from = '../shared/fixtures/official_tiny/snapshot_0.pth.tar'

# --------------------------------------------------------------------------- optimiser
# Freezing is declared here: everything under `backbone` and `head` gets lr 0 and no
# weight decay, except the new `head.uncertainty` (the longest matching key wins).
# Keep schedules relative (eta_min_ratio, factors): an absolute eta_min would give the
# frozen groups a non-zero learning rate.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={
        'backbone': dict(lr_mult=0.0, decay_mult=0.0),
        'head': dict(lr_mult=0.0, decay_mult=0.0),
        'head.uncertainty': dict(lr_mult=1.0, decay_mult=1.0),
    }))

max_iters = 40
param_scheduler = [
    # no `end`: follows train_cfg.max_iters
    dict(type='CosineAnnealingLR', eta_min_ratio=0.1, begin=0, by_epoch=False),
]

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='CheckpointHook', interval=max_iters, by_epoch=False,
                    max_keep_ckpts=1))
log_processor = dict(by_epoch=False, window_size=1)

# --------------------------------------------------------------------------- evaluation
# The data loaders are the tiny config's; the project's metric joins the mesh errors.
val_evaluator = [
    dict(type='SMPLXMeshMetric'),
    dict(type='SMPLXUncertaintyMetric'),
]
test_evaluator = val_evaluator
