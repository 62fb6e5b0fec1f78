# SMPLest-X Tiny sizes of the official reference case (shared fixtures official_tiny): tests only.
# The SMPL-X folder stays None here: set $SMPLESTX_BODY_MODELS or
# --cfg-options model.head.body_model.body_model_dir=<folder>.
_base_ = [
    '../_base_/default_runtime.py', '../_base_/schedules/adam_cosine_20e.py',
    '../_base_/datasets/humandata_pipelines.py', '../_base_/datasets/synthetic.py'
]

embed_dim = 32

model = dict(
    type='SMPLestX',
    data_preprocessor=dict(type='SMPLXDataPreprocessor', input_shape=(512, 384), stride=2),
    backbone=dict(
        type='ViT',
        img_size=(256, 192),
        patch_size=16,
        embed_dim=embed_dim,
        depth=2,
        num_heads=4,
        mlp_ratio=4,
        qkv_bias=True,
        drop_path_rate=0.0,
        num_task_tokens=80,
        patch_padding=2,
        use_checkpoint=False,
        attn_impl='sdpa',
        frozen_stages=-1,
        init_cfg=None),
    head=dict(
        type='SMPLXTransformerHead',
        feat_dim=embed_dim,
        dim_out=16,
        num_task_tokens=80,
        depth=6,
        num_heads=8,
        head_dim=64,
        attn_impl='sdpa',
        skip_unused_heads=True,
        camera_3d_size=2.5,
        official_cross_quirk=False,
        body_model=dict(
            type='SMPLXBodyModel',
            body_model_dir=None,
            gender='neutral',
            focal=(5000., 5000.),
            princpt=(96., 128.),
            input_body_shape=(256, 192),
            output_hm_shape=(16, 12)),
        loss=dict(
            type='SMPLestXLoss',
            kps3d_weight=100.0,
            kps2d_weight=1.0,
            pose_weight=10.0,
            shape_weight=1.0,
            orient_weight=1.0,
            expr_weight=1.0,
            hand_root_weight=1.0,
            chain_hand_loss=True,
            official_broadcast=False)),
    train_cfg=dict(),
    test_cfg=dict())

# ----------------------------------------------------------------------------- training
# One epoch on the synthetic set written by
#   python tools/dataset_converters/make_synthetic_humandata.py --out-dir data/synthetic
# with the official optimiser and per-iteration cosine schedule. Runs on one CPU process
# (python tools/train.py) or several (bash tools/dist_train.sh CONFIG 2, gloo without GPUs).
max_epochs = 1
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=_base_.min_lr, begin=0,
         end=max_epochs, by_epoch=True, convert_to_iter_based=True),
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
