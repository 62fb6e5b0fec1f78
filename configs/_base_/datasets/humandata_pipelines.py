# Pipelines shared by the HumanData presets in this folder.
#
# Use in a leaf config (presets define datasets without a pipeline):
#   _base_ = ['../_base_/default_runtime.py', '../_base_/datasets/humandata_pipelines.py',
#             '../_base_/datasets/agora.py']
#   train_dataloader = dict(dataset=dict(_base_.agora_train,
#                                        pipeline=_base_.humandata_train_pipeline), ...)
#
# HumanData body boxes already carry 1.2 padding, hence the official ratio 1.2 * 0.833.
# The SMPL-X layer for the ground truth comes from $SMPLESTX_BODY_MODELS unless
# `body_model_dir` is set on GenerateSMPLXTargets.
humandata_bbox_ratio = 1.2 * 0.833

humandata_train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBox', ratio=humandata_bbox_ratio, skip_invalid=True),
    dict(type='RandomSMPLXAugment'),
    dict(type='AffineCrop'),
    dict(type='GenerateSMPLXTargets'),
    dict(type='PackSMPLXInputs'),
]

humandata_test_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBox', ratio=humandata_bbox_ratio),
    dict(type='AffineCrop'),
    dict(type='GenerateSMPLXTargets', with_mesh=True),
    dict(type='PackSMPLXInputs'),
]
