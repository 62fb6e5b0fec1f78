# The official SMPLest-X training recipe (main/train.py, configs/config_smplest_x_h.py):
# Adam with torch defaults and no weight decay, lr 1e-5, cosine annealing to 1e-6 over all
# iterations of the run, stepped every iteration, no warm-up, 20 epochs. The batch (16 per
# GPU) is set by the dataloader. There is no AMP and no gradient clipping (--amp switches to
# the mixed-precision wrapper).
max_epochs = 20
lr = 1e-5
min_lr = 1e-6

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0))

# No `end` or `T_max`: the Runner sets `end` to train_cfg.max_epochs and the cosine runs
# from `begin` to `end`, so `--cfg-options train_cfg.max_epochs=N` stretches the schedule too.
# An explicit `end` that disagrees with the training length is logged as a warning.
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min=min_lr, begin=0, by_epoch=True,
         convert_to_iter_based=True),
]

# ResumableEpochBasedTrainLoop: a resume from an iteration checkpoint continues mid-epoch.
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# The official run: 16 GPUs x 16 crops. Enable with --cfg-options auto_scale_lr.enable=True
# to scale the learning rate linearly to another total batch.
auto_scale_lr = dict(enable=False, base_batch_size=256)
