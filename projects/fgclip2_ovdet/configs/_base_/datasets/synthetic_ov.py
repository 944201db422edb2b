# The synthetic shapes world as an OV-COCO twin: 16 shape classes, 12 base / 4 novel; train
# on the base boxes only (instances_train_base.json), test on all 16 with OVCocoMetric.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'

data_root = 'data/synthetic/'
classes = ('circle', 'square', 'triangle', 'star', 'heart', 'hexagon', 'pentagon', 'diamond',
           'cross', 'crescent', 'ring', 'arrow', 'ellipse', 'rectangle', 'trapezoid',
           'octagon')
classes_zh = ('圆形', '正方形', '三角形', '五角星', '爱心', '六边形', '五边形', '菱形', '十字形',
              '月牙形', '圆环', '箭头', '椭圆形', '长方形', '梯形', '八边形')
base_classes = ('circle', 'square', 'triangle', 'star', 'hexagon', 'pentagon', 'diamond',
                'cross', 'ring', 'arrow', 'ellipse', 'rectangle')
novel_classes = ('heart', 'crescent', 'trapezoid', 'octagon')
metainfo = dict(classes=classes, classes_zh=classes_zh, base_classes=base_classes,
                novel_classes=novel_classes)

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
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train_base.json',
        data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True, min_size=4),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
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
