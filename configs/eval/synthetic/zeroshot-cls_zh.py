# Synthetic zero-shot classification with the Chinese shape names ('圆形', ...).
_base_ = ['./zeroshot-cls_en.py']
test_dataloader = dict(dataset=dict(templates='synthetic_bare_zh', lang='zh'))
