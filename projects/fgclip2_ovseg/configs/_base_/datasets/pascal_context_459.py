# PASCAL-Context-459 validation (5105 images): VOC2010 JPEGImages + 16-bit label maps
# annotations_detectron2/pc459_val/*.tif from the standard OV-seg script (project README).
_base_ = ['./ov_pipelines.py']
dataset_type = 'fgclip2_mm.PascalContext459Dataset'
data_root = 'data/VOCdevkit/VOC2010'
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='annotations_detectron2/pc459_val'),
        ann_file='ImageSets/SegmentationContext/val.txt',
        pipeline={{_base_.ov_test_pipeline_16bit}}))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'], ignore_index=65535)
test_evaluator = val_evaluator
