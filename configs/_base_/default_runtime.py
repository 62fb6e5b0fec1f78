default_scope = 'smplestx'
runner_type = 'SMPLestXRunner'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # RNG states in every checkpoint, restored on --resume (augmentation continues exactly).
    rng_state=dict(type='RNGStateHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
# No fixed `name`: MMEngine then names the visualizer after the experiment, so several
# runners in one process (tests, notebooks) do not share one instance and its save dir.
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
# Inference precision of init_model, the inferencer/demo and tools/test.py (runner.test()):
# 'fp32' (exact), 'bf16', 'fp16', 'int8' or 'auto' (the fastest this CPU/GPU supports);
# training and its validation always run in fp32. See docs/benchmarks.md.
precision = 'fp32'
