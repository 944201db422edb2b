# FG-OVD medium: data/fgovd/m_attributes.jsonl (2 attributes changed, 2968 records), COCO val2017
# images;
# each record's img_path is relative to data_prefix.img_path.
# Paper (top-1): FG-CLIP 2 B/16 76.3, L/16 77.5, So/16 77.4.
_base_ = ['./_base_/default_runtime.py', './_base_/fgovd.py']
test_dataloader = dict(
    dataset=dict(
        data_root='data/',
        ann_file='fgovd/m_attributes.jsonl',
        data_prefix=dict(img_path='coco/')))
test_evaluator = dict(prefix='fgovd_medium')
