# FG-OVD trivial: data/fgovd/shuffle_negatives.jsonl (random other captions, 3545 records), COCO
# val2017 images;
# each record's img_path is relative to data_prefix.img_path.
# Paper (top-1): FG-CLIP 2 B/16 92.0, L/16 92.5, So/16 93.5.
_base_ = ['./_base_/default_runtime.py', './_base_/fgovd.py']
test_dataloader = dict(
    dataset=dict(
        data_root='data/',
        ann_file='fgovd/shuffle_negatives.jsonl',
        data_prefix=dict(img_path='coco/')))
test_evaluator = dict(prefix='fgovd_trivial')
