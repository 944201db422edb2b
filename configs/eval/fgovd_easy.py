# FG-OVD easy: data/fgovd/e_attributes.jsonl (3 attributes changed, 1299 records), COCO val2017
# images;
# each record's img_path is relative to data_prefix.img_path.
# Paper (top-1): FG-CLIP 2 B/16 80.3, L/16 83.1, So/16 79.8.
_base_ = ['./_base_/default_runtime.py', './_base_/fgovd.py']
test_dataloader = dict(
    dataset=dict(
        data_root='data/',
        ann_file='fgovd/e_attributes.jsonl',
        data_prefix=dict(img_path='coco/')))
test_evaluator = dict(prefix='fgovd_easy')
