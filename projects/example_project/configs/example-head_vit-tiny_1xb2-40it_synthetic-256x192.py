# Template config: the tiny SMPLest-X with the project's head, fine-tuned end to end on the
# synthetic set from the official tiny checkpoint (shared test fixture).
#
#   python tools/dataset_converters/make_synthetic_humandata.py --out-dir data/synthetic
#   python tools/train.py projects/example_project/configs/<this file> --cfg-options train_cfg.max_iters=2
#   python tools/test.py projects/example_project/configs/<this file> work_dirs/<this name>/iter_2.pth
#
# The SMPL-X folder comes from $SMPLESTX_BODY_MODELS.
_base_ = ['../../../configs/smplestx/smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py']

# Imported before anything is built: registers ExampleSMPLXHead (run the tools from the
# repository root, so that `projects` is importable).
custom_imports = dict(imports=['projects.example_project.example_project'],
                      allow_failed_imports=False)

# Only the head type and its new option change; everything else is the tiny model.
model = dict(head=dict(type='ExampleSMPLXHead', loss_weights=dict(loss_joint_proj=2.0)))

load_from = '../shared/fixtures/official_tiny/snapshot_0.pth.tar'

# Iteration-based, so that train_cfg.max_iters can be overridden on the command line.
max_iters = 40
param_scheduler = [
    # no `end`: follows train_cfg.max_iters
    dict(type='CosineAnnealingLR', eta_min_ratio=0.1, begin=0, by_epoch=False),
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=max_iters, by_epoch=False,
                    max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
