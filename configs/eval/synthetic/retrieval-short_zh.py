# Synthetic short-caption retrieval, Chinese (short walk).
_base_ = ['./retrieval-short_en.py']
test_dataloader = dict(
    dataset=dict(ann_file='annotations/retrieval_short_zh_val.json', lang='zh'))
