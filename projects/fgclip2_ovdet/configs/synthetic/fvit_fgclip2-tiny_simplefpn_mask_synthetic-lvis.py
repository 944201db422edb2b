# Synthetic twin of the OV-LVIS config: class-agnostic masks, LVIS metric (AP, APr / APc /
# APf from the world's r / c / f tags; the 4 novel shapes are the world's rare classes).
_base_ = './fvit_fgclip2-tiny_simplefpn_synthetic-ov.py'

model = dict(
    data_preprocessor=dict(pad_mask=True),
    roi_head=dict(
        # CPU-sized version of _base_/models/agnostic_mask_head.py (64 channels, 2 convs)
        mask_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=64,
            featmap_strides=[4, 8, 16, 32]),
        mask_head=dict(
            type='FCNMaskHead',
            num_convs=2,
            in_channels=64,
            conv_out_channels=64,
            class_agnostic=True,
            loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    train_cfg=dict(rcnn=dict(mask_size=28)),
    test_cfg=dict(rcnn=dict(mask_thr_binary=0.5)))

train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    {{_base_.resize}},
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]))
test_pipeline = [
    dict(type='LoadImageFromFile'),
    {{_base_.resize}},
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='fgclip2_mm.FGCLIP2LVISMetric',
    ann_file='data/synthetic/annotations/instances_val.json',
    metric=['bbox', 'segm'],
    exhaustive_annotations=True)
test_evaluator = val_evaluator
