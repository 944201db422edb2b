# Runtime shared by the pretraining configs (mmengine, default scope fgclip2_mm).
default_scope = 'fgclip2_mm'
custom_imports = dict(imports=['fgclip2_mm'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # save_steps 2000 in the released script; our checkpoints also hold the optimizer,
    # the schedulers and the CMR threshold (a buffer), so --resume is exact.
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2000, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'))

# GPU clusters: NCCL. The CPU configs (synthetic world, tests) override it with gloo.
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
# Every parameter is in the graph on every step (graph-connected zeros when a batch has
# no boxes), so DDP never needs to search for unused parameters. The only buffer (the CMR
# threshold) is computed identically on every rank, so buffers are not broadcast.
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=False, broadcast_buffers=False)

log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
