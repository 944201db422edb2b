# Synthetic FG-OVD hard, Chinese.
_base_ = ['./fgovd-hard_en.py']
test_dataloader = dict(dataset=dict(ann_file='annotations/fgovd_hard_zh_val.jsonl', lang='zh'))
