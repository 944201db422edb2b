# BoxClass-CN-566: COCO-format instances whose categories carry the raw Chinese names, no
# template, no lower-casing needed (Chinese), box walk.
# Paper (top-1): FG-CLIP 2 B/16 60.7, L/16 68.6, So/16 66.5.
_base_ = ['./_base_/default_runtime.py', './_base_/box_cls.py']
test_dataloader = dict(
    dataset=dict(
        data_root='data/boxclass_cn/',
        ann_file='valid_category_data_total_zh.json',
        data_prefix=dict(img_path='images/'),
        templates='plain',
        lang='zh'))
