# DOCCI-CN (image<TAB>caption), long walk, 196 tokens, no lower-casing (Chinese long).
# Paper R@1 I->T / T->I: FG-CLIP 2 B/16 71.2 / 75.4, L/16 77.6 / 81.9, So/16 79.7 / 84.0.
_base_ = ['./_base_/default_runtime.py', './_base_/retrieval.py']
test_dataloader = dict(
    dataset=dict(
        data_root='data/docci_cn/',
        ann_file='docci_cn.tsv',
        ann_format='tsv',
        data_prefix=dict(img_path='images/'),
        text_walk='long',
        lang='zh',
        lowercase=False))
