# F-ViT OV-LVIS schedule: 48 epochs, 250 warm-up iterations, steps at 32 and 44, evaluated
# every 12 epochs (wusize/CLIPSelf
# F-ViT/configs/ov_lvis/fvit_vitb16_upsample_fpn_bs64_4x_ovlvis_eva_original.py:215-224).
_base_ = './adamw_3e.py'

max_epochs = 48
train_cfg = dict(max_epochs=max_epochs, val_interval=12)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[32, 44],
         gamma=0.1),
]
