# F-ViT OV-COCO schedule: AdamW 1e-4, wd 0.1, 3 epochs, no decay, 250 warm-up iterations,
# batch 64, fp16, gradient clip 1.0 (wusize/CLIPSelf
# F-ViT/configs/ov_coco/fvit_vitb16_upsample_fpn_bs64_3e_ovcoco_eva_original.py:215-225).
_base_ = 'mmdet::_base_/schedules/schedule_1x.py'

max_epochs = 3
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250),
]
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    loss_scale=512.0,
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1),
    clip_grad=dict(max_norm=1.0, norm_type=2))
auto_scale_lr = dict(enable=True, base_batch_size=64)
