# Runtime of the zero-shot evaluation configs (tools/test.py CONFIG CHECKPOINT).
# CHECKPOINT is a checkpoint folder (ours or the official one; tools/test.py then builds the
# model from it and reads the tokenizer there) or a .safetensors / .pth file of our layout
# (then `model.arch` must match and `test_cfg.tokenizer` must be set).
default_scope = 'fgclip2_mm'
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
log_level = 'INFO'
default_hooks = dict(timer=dict(type='IterTimerHook'), logger=dict(type='LoggerHook', interval=50))
load_from = None
model = dict(type='fgclip2_mm.FGCLIP2', arch='base')
test_cfg = dict(type='fgclip2_mm.FGCLIP2TestLoop', tokenizer=None, cache_dir='work_dir')
