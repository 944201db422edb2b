# F-ViT OV-LVIS schedule: 48 epochs, steps at 32 and 44.
_base_ = './adamw_3e.py'

max_epochs = 48
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[32, 44],
         gamma=0.1),
]
