# Shared pieces of the benchmark presets in this folder (not a benchmark itself).
#
# Every preset `<benchmark>.py` here defines `<benchmark>_eval_dataloader` and
# `<benchmark>_evaluator` (unique names, so a preset combines with a model config that has
# its own datasets and test set). A test config selects one preset:
#
#   _base_ = ['./smplestx_vit-h_16xb16-20e_h40-256x192.py', '../_base_/evaluation/ubody.py']
#   test_dataloader = _base_.ubody_eval_dataloader
#   test_evaluator = _base_.ubody_evaluator
#
# MMEngine merges a dict into the inherited one key by key (this repo never uses the
# delete marker), so the presets spell out EVERY HumanDataset option, the dataloader keys
# and the metric switches: nothing of the model config's own test set leaks into them.
#
# Official-evaluation switch: SMPLXMeshMetric fixes three bugs of the official
# HumanDataset.evaluate (spec section 7.1). `python tools/test.py ... --official-eval`
# turns all three back on (SMPLXMeshMetric.OFFICIAL) to reproduce the official numbers;
# one at a time: --cfg-options test_evaluator.official_hand_mpjpe_gt_absolute=True etc.

# The official test-time crop (spec section 13.1); the same transforms as
# `humandata_test_pipeline` in ../datasets/humandata_pipelines.py (a test checks it).
eval_bbox_ratio = 1.2 * 0.833
eval_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBox', ratio=eval_bbox_ratio),
    dict(type='AffineCrop'),
    dict(type='GenerateSMPLXTargets', with_mesh=True),
    dict(type='PackSMPLXInputs'),
]
# For sets without ground truth (AGORA test server): no targets are generated.
eval_pipeline_no_gt = [
    dict(type='LoadImage'),
    dict(type='GetBBox', ratio=eval_bbox_ratio),
    dict(type='AffineCrop'),
    dict(type='PackSMPLXInputs'),
]

# Every HumanDataset option, at its default except test_mode/data_root/pipeline.
eval_humandata = dict(
    type='HumanDataset',
    ann_file='',
    dataset_name=None,
    data_root='data',
    data_prefix=dict(img_path=''),
    pipeline=eval_pipeline,
    test_mode=True,
    sample_interval=1,
    img_shape=None,
    use_meta_img_shape=True,
    filter_annot_valid=True,
    filter_crowd=True,
    filter_zero_keypoints=True,
    filter_invalid_label=True,
    skip_kids=True,
    body_model_type='auto',
    flat_hand_mean=False,
    zero_betas=False,
    use_betas_neutral=True,
    hand_only=False,
    strip_leading_slash=False,
    camera_from_meta=False,
    gendered_smplx=False,
    official_hand_keypoint_validity=False,
    cam_param=None,
    use_smplx_joints=False,
    use_cache=False,
    cache_dir=None,
    allow_unsafe_pickle=False,
    metainfo=None,
    indices=None,
    lazy_init=False,
    max_refetch=1000,
)

# Sequential, unshuffled, nothing dropped. Under several processes MMEngine's DefaultSampler
# pads the last round with the first samples and the metrics' result collection cuts the
# list back to the dataset size, so every sample counts exactly once.
eval_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=False,
    pin_memory=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
)

# The SMPL-X whole-body metric with its official-compatibility switches spelled out.
smplx_metric = dict(
    type='SMPLXMeshMetric',
    body_model_dir=None,
    parts=('all', 'hands', 'face', 'body'),
    gt_key='smplx_mesh_cam',
    official_hand_mpjpe_gt_absolute=False,  # official: True (non-PA hand MPJPE bug)
    official_pa_hand_outlier_mm=None,  # official: 100.0 (drops hand PA-MPJPE > 100 mm)
    official_nan_hand_average=False,  # official: True (0/0 when both hands are invalid)
    collect_device='cpu',
    prefix=None,
    collect_dir=None,
)
