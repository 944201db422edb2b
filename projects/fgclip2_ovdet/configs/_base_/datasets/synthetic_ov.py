# The synthetic shapes world as an OV-COCO twin: train on the base boxes only
# (instances_train_base.json), test on every class with OVCocoMetric. The classes, their
# Chinese names and the base / novel split come from the world's annotation files
# (fgclip2_mm.FGCLIP2SyntheticDetDataset), so the config fits a world of any profile
# (calibrated: 6 base / 2 novel shapes; legacy: 12 / 4).
_base_ = 'mmdet::_base_/datasets/coco_detection.py'

data_root = 'data/synthetic/'
dataset_type = 'fgclip2_mm.FGCLIP2SyntheticDetDataset'

# Images are resized like the encoder's pretraining input (NaFlex, 256 patches of 16 px:
# 256 x 256 for a square image), so objects appear at the scale it learned.
resize = dict(type='fgclip2_mm.FGCLIP2NaFlexResize', max_num_patches=256)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    resize,
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    resize,
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train_base.json',
        data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True, min_size=4),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img=''),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='OVCocoMetric',
    ann_file=data_root + 'annotations/instances_val.json',
    metric='bbox')
test_evaluator = val_evaluator
