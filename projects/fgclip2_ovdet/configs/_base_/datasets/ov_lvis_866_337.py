# OV-LVIS 866/337: train on the common + frequent classes' annotations (rare removed), test
# on LVIS v1 val with mask and box AP, APr (the 337 rare = novel classes), APc, APf.
# No repeat-factor sampling: F-ViT trains on the plain dataset (wusize/CLIPSelf
# F-ViT/configs/ov_lvis/fvit_vitb16_upsample_fpn_bs64_4x_ovlvis_eva_original.py:200-204,
# type='LVISV1DatasetOV', no ClassBalancedDataset), so mmdet's LVIS base wrapper is removed.
_base_ = 'mmdet::_base_/datasets/lvis_v1_instance.py'

data_root = 'data/lvis_v1/'
dataset_type = 'fgclip2_mm.FGCLIP2LVISV1Dataset'  # mmdet's + the file's categories (ids)
image_size = (1024, 1024)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomResize', scale=image_size, ratio_range=(0.1, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_type='absolute_range', crop_size=image_size,
         recompute_bbox=True, allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        # F-ViT's file name (lvis:202): lvis_v1_train.json without rare annotations, all
        # 1203 categories (see the README)
        ann_file='annotations/lvis_v1_train_seen_1203_cat.json',
        data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='fgclip2_mm.FGCLIP2LVISMetric',
    ann_file=data_root + 'annotations/lvis_v1_val.json',
    metric=['bbox', 'segm'])
test_evaluator = val_evaluator
