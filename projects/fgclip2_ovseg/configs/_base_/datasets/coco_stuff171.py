# COCO-Stuff-171 (mmseg layout and converter), the training set of the trained protocol,
# with CAT-Seg's augmentation (configs/config.yaml l.49-61, vitb_384.yaml l.33-42,
# cat_seg/data/dataset_mappers/mask_former_semantic_dataset_mapper.py l.64-82): short side
# 384 (long side <= 1333, detectron2's MAX_SIZE_TRAIN), a 384 x 384 crop with no
# single-category limit (SINGLE_CATEGORY_MAX_AREA 1.0), SSD colour jitter, horizontal flip.
_base_ = ['mmseg::_base_/datasets/coco-stuff164k.py', './ov_pipelines.py']
dataset_type = 'fgclip2_mm.COCOStuff171Dataset'  # mmseg's, plus readable text names
crop_size = (384, 384)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(1333, 384), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=1.0),
    dict(type='PhotoMetricDistortion'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = {{_base_.ov_test_pipeline}}
train_dataloader = dict(dataset=dict(type=dataset_type, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type=dataset_type, pipeline=test_pipeline))
test_dataloader = val_dataloader
