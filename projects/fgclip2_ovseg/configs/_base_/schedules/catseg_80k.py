# CAT-Seg's recipe: AdamW 2e-4 (encoder 100x lower), weight decay 1e-4, 80k iterations,
# linear warm-up then cosine decay. fgclip2_mm's constructor leaves frozen parameters out
# (the text tower) and decays only Linear / Embedding weights.
_base_ = 'mmseg::_base_/schedules/schedule_80k.py'
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, weight_decay=1e-4),
    constructor='fgclip2_mm.FGCLIP2OptimWrapperConstructor',
    paramwise_cfg=dict(lr_mult={'clip.': 0.01}),
    clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=1500),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=1500, end=80000, eta_min=0)
]
