# COCO-Stuff-171 (mmseg layout and converter), the training set of the trained protocol:
# 384 x 384 crops as CAT-Seg, OV test pipeline for validation.
_base_ = ['mmseg::_base_/datasets/coco-stuff164k.py', './ov_pipelines.py']
dataset_type = 'fgclip2_mm.COCOStuff171Dataset'  # mmseg's, plus readable text names
crop_size = (384, 384)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = {{_base_.ov_test_pipeline}}
train_dataloader = dict(dataset=dict(type=dataset_type, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type=dataset_type, pipeline=test_pipeline))
test_dataloader = val_dataloader
