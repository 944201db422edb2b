# OV-COCO 48/17 (OVR-CNN split): train on the 48 base classes' boxes, test on all 65 with
# OVCocoMetric's base / novel AP50. Annotation files: see the project README. The 65 classes,
# their order and the 48 / 17 split are F-ViT's (wusize/CLIPSelf F-ViT/datasets/
# mscoco_65_classes.json, mscoco_seen_classes.json, mscoco_unseen_classes.json). Both files
# keep all 65 categories: labels follow the file's categories (mmdet maps by name, in file
# order), and FGCLIP2CocoDataset lets the vocabulary hook check that they match `classes`.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'

data_root = 'data/coco/'
dataset_type = 'fgclip2_mm.FGCLIP2CocoDataset'
base_classes = (
    'person', 'bicycle', 'car', 'motorcycle', 'train', 'truck', 'boat', 'bench', 'bird',
    'horse', 'sheep', 'bear', 'zebra', 'giraffe', 'backpack', 'handbag', 'suitcase',
    'frisbee', 'skis', 'kite', 'surfboard', 'bottle', 'fork', 'spoon', 'bowl', 'banana',
    'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'pizza', 'donut', 'chair', 'bed',
    'toilet', 'tv', 'laptop', 'mouse', 'remote', 'microwave', 'oven', 'toaster',
    'refrigerator', 'book', 'clock', 'vase', 'toothbrush')  # 48
novel_classes = ('airplane', 'bus', 'cat', 'dog', 'cow', 'elephant', 'umbrella', 'tie',
                 'snowboard', 'skateboard', 'cup', 'knife', 'cake', 'couch', 'keyboard',
                 'sink', 'scissors')  # 17
classes = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra',
    'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis',
    'snowboard', 'kite', 'skateboard', 'surfboard', 'bottle', 'cup', 'fork', 'knife', 'spoon',
    'bowl', 'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'pizza', 'donut',
    'cake', 'chair', 'couch', 'bed', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard',
    'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase',
    'scissors', 'toothbrush')  # 65, in category-id order
classes_zh = (
    '人', '自行车', '汽车', '摩托车', '飞机', '公交车', '火车', '卡车', '船', '长椅', '鸟', '猫',
    '狗', '马', '羊', '牛', '大象', '熊', '斑马', '长颈鹿', '背包', '雨伞', '手提包', '领带',
    '行李箱', '飞盘', '滑雪板', '单板滑雪板', '风筝', '滑板', '冲浪板', '瓶子', '杯子', '叉子',
    '刀', '勺子', '碗', '香蕉', '苹果', '三明治', '橙子', '西兰花', '胡萝卜', '披萨', '甜甜圈',
    '蛋糕', '椅子', '沙发', '床', '马桶', '电视', '笔记本电脑', '鼠标', '遥控器', '键盘',
    '微波炉', '烤箱', '烤面包机', '水槽', '冰箱', '书', '时钟', '花瓶', '剪刀', '牙刷')
metainfo = dict(classes=classes, classes_zh=classes_zh, base_classes=base_classes,
                novel_classes=novel_classes)

image_size = (640, 640)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
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
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='zero-shot/instances_train2017_seen_2_65_cat.json',
        data_prefix=dict(img='train2017/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='zero-shot/instances_val2017_all_2.json',
        data_prefix=dict(img='val2017/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='OVCocoMetric',
    ann_file=data_root + 'zero-shot/instances_val2017_all_2.json',
    metric='bbox')
test_evaluator = val_evaluator
