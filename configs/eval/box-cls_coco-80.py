# COCO-80 box classification: val2017 instances, 80 classes, the 80 CLIP templates.
# Paper (top-1): FG-CLIP 2 B/16 74.9, L/16 74.0, So/16 77.4.
_base_ = ['./_base_/default_runtime.py', './_base_/box_cls.py']
test_dataloader = dict(
    dataset=dict(
        data_root='data/coco/',
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img_path='val2017/')))
