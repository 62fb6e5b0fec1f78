# Uncertainty head on the released SMPLest-X-H: the pretrained encoder/decoder stay frozen,
# only `head.uncertainty` trains (Gaussian NLL around the released model's predictions).
#
#   bash tools/dist_train.sh projects/uncertainty_head/configs/<this file> 16
#   python tools/test.py projects/uncertainty_head/configs/<this file> work_dirs/<this name>/epoch_2.pth
#
# Data, evaluation data and runtime come from the ViT-H config (the official H40 mix).
_base_ = ['../../../configs/smplestx/smplestx_vit-h_16xb16-20e_h40-256x192.py']

custom_imports = dict(imports=['projects.uncertainty_head.uncertainty_head'],
                      allow_failed_imports=False)

model = dict(
    allow_missing_prefixes=['head.uncertainty.'],
    # All 32 blocks and the patch/position embeddings: no gradients, eval mode. The
    # released weights replace the ViTPose initialisation.
    backbone=dict(frozen_stages=32, drop_path_rate=0.0, init_cfg=None),
    head=dict(
        type='SMPLXUncertaintyHead',
        loss=None,
        detach_mean=True,
        uncertainty=dict(type='TokenVarianceReadout', hidden_channels=256, init_log_var=-4.0,
                         log_var_range=(-12.0, 6.0), detach_input=True),
        nll_loss=dict(type='SMPLXGaussianNLLLoss')))

# The released weights (as in configs/smplestx/*_finetune.py): the official file or its
# converted MMEngine checkpoint (--cfg-options load_from=...; see docs/get_started.md).
load_from = 'pretrained_models/smplest_x_h/smplest_x_h.pth.tar'

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={
        'backbone': dict(lr_mult=0.0, decay_mult=0.0),
        'head': dict(lr_mult=0.0, decay_mult=0.0),
        'head.uncertainty': dict(lr_mult=1.0, decay_mult=1.0),
    }))

max_epochs = 2
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min_ratio=0.01, begin=0, by_epoch=True,
         convert_to_iter_based=True),  # no `end`: follows train_cfg.max_epochs
]
train_cfg = dict(max_epochs=max_epochs)

# Mesh-only test sets (e.g. EHF) have no SMPL-X parameters: the uncertainty metric skips
# such samples (with a warning); use a test set with parameter ground truth for it.
val_evaluator = [
    dict(type='SMPLXMeshMetric'),
    dict(type='SMPLXUncertaintyMetric'),
]
test_evaluator = val_evaluator
