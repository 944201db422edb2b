# LVIS-1203 box classification: LVIS v1 val (images from COCO train2017/val2017, named by
# coco_url), names with '_' -> ' ', the 80 CLIP templates.
# Paper (top-1): FG-CLIP 2 B/16 47.3, L/16 41.9, So/16 43.9.
_base_ = ['./_base_/default_runtime.py', './_base_/box_cls.py']
test_dataloader = dict(
    dataset=dict(
        data_root='data/',
        ann_file='lvis/lvis_v1_val.json',
        data_prefix=dict(img_path='coco/'),
        replace_underscores=True))
