# Synthetic FG-OVD hard (one attribute changed, 10 negatives), English. Other levels:
# --cfg-options test_dataloader.dataset.ann_file=annotations/fgovd_medium_en_val.jsonl
_base_ = ['./_base_/fgovd.py']
test_dataloader = dict(dataset=dict(ann_file='annotations/fgovd_hard_en_val.jsonl', lang='en'))
test_evaluator = dict(prefix='fgovd_hard')
