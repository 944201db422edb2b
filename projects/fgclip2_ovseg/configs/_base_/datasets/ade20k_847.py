# ADE20K-847 validation (2000 images), prepared with the standard OV-seg script (see the
# project README): images_detectron2/validation/*.jpg, annotations_detectron2/validation/*.tif
_base_ = ['./ov_pipelines.py']
dataset_type = 'fgclip2_mm.ADE20K847Dataset'
data_root = 'data/ADE20K_2021_17_01'
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='images_detectron2/validation',
            seg_map_path='annotations_detectron2/validation'),
        pipeline={{_base_.ov_test_pipeline_16bit}}))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'], ignore_index=65535)
test_evaluator = val_evaluator
