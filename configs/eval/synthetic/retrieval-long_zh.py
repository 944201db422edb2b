# Synthetic long-caption retrieval, Chinese: long walk, no lower-casing (as the Chinese
# long-caption benchmarks).
_base_ = ['./retrieval-long_en.py']
test_dataloader = dict(
    dataset=dict(ann_file='annotations/retrieval_long_zh_val.json', lang='zh',
                 lowercase=False))
