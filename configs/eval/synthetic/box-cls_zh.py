# Synthetic box classification, Chinese: colour x shape phrases such as '红色圆形'.
_base_ = ['./box-cls_en.py']
test_dataloader = dict(dataset=dict(templates='synthetic_bare_zh', lang='zh'))
