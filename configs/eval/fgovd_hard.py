# FG-OVD hard: data/fgovd/h_attributes.jsonl (1 attribute changed, 3545 records; a few have 2-9
# negatives), COCO val2017 images;
# each record's img_path is relative to data_prefix.img_path.
# Paper (top-1): FG-CLIP 2 B/16 52.3, L/16 55.5, So/16 54.0.
_base_ = ['./_base_/default_runtime.py', './_base_/fgovd.py']
test_dataloader = dict(
    dataset=dict(
        data_root='data/',
        ann_file='fgovd/h_attributes.jsonl',
        data_prefix=dict(img_path='coco/')))
test_evaluator = dict(prefix='fgovd_hard')
