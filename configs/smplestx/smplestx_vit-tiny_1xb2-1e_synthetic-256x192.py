# SMPLest-X Tiny sizes of the official reference case (shared fixtures official_tiny): tests only.
# The SMPL-X folder stays None here: set $SMPLESTX_BODY_MODELS or
# --cfg-options model.head.body_model.body_model_dir=<folder>.
_base_ = [
    '../_base_/models/smplestx_vit-h.py', '../_base_/default_runtime.py',
    '../_base_/schedules/adam_cosine_20e.py', '../_base_/datasets/humandata_pipelines.py',
    '../_base_/datasets/synthetic.py'
]

embed_dim = 32

# The model of ../_base_/models/smplestx_vit-h.py with the tiny sizes.
model = dict(
    backbone=dict(embed_dim=embed_dim, depth=2, num_heads=4, drop_path_rate=0.0,
                  init_cfg=None),
    head=dict(feat_dim=embed_dim, dim_out=16))

# ----------------------------------------------------------------------------- training
# One epoch on the synthetic set written by
#   python tools/dataset_converters/make_synthetic_humandata.py --out-dir data/synthetic
# with the official optimiser and per-iteration cosine schedule (without `end`/`T_max` it
# follows train_cfg.max_epochs, also when overridden). Runs on one CPU process
# (python tools/train.py) or several (bash tools/dist_train.sh CONFIG 2, gloo without GPUs).
max_epochs = 1
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min=_base_.min_lr, begin=0, by_epoch=True,
         convert_to_iter_based=True),
]

train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='SeededDefaultSampler', shuffle=True),  # per-sample augmentation seeds
    dataset=dict(_base_.synthetic_train, pipeline=_base_.humandata_train_pipeline))
val_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_base_.synthetic_test, pipeline=_base_.humandata_test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='SMPLXMeshMetric')
test_evaluator = val_evaluator

# The hand/face camera and face-root readouts get no loss (as in the official model).
find_unused_parameters = True
randomness = dict(seed=2023)
default_hooks = dict(logger=dict(interval=1))
custom_hooks = [dict(type='SMPLXVisualizationHook', train_interval=50, val_interval=1)]
