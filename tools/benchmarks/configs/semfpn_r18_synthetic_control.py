# Supervised control of tools/benchmarks/overfit_control.py (seg): mmseg's Semantic FPN on
# ResNetV1c-18 from random init, a plain 17-way classifier (16 shapes + background), with the
# data pipeline, batch and AdamW learning rate of the tiny CAT-Seg synthetic config.
_base_ = [
    'mmseg::_base_/models/fpn_r50.py',
    '../../../projects/fgclip2_ovseg/configs/_base_/datasets/synthetic_seg.py',
    '../../../projects/fgclip2_ovseg/configs/_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=(256, 256)),
    backbone=dict(depth=18, norm_cfg=norm_cfg),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=64),
    decode_head=dict(in_channels=[64] * 4, channels=64, num_classes=17, norm_cfg=norm_cfg))
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4))
max_iters = 1000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
