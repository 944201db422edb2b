# CAT-Seg's solver (configs/config.yaml l.33-48, vitb_384.yaml l.43-49): AdamW 2e-4, the CLIP
# encoders at 0.01x (CLIP_MULTIPLIER), weight decay 1e-4, 80k iterations, cosine decay with
# no warm-up (WARMUP_ITERS 0), full-model gradient-norm clipping at 0.01 (CLIP_VALUE).
# fgclip2_mm's constructor leaves frozen parameters out and decays only Linear / Embedding
# weights (CAT-Seg's train_net.py l.197-226 also decays convolutions and biases).
_base_ = 'mmseg::_base_/schedules/schedule_80k.py'
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, weight_decay=1e-4),
    constructor='fgclip2_mm.FGCLIP2OptimWrapperConstructor',
    paramwise_cfg=dict(lr_mult={'clip.': 0.01}),
    clip_grad=dict(max_norm=0.01, norm_type=2))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=80000, eta_min=0)]
