# LIT-CN (image<TAB>caption), long walk, 196 tokens, no lower-casing (Chinese long).
# Paper R@1 I->T / T->I: FG-CLIP 2 B/16 82.4 / 81.1, L/16 86.3 / 85.9, So/16 87.6 / 86.3.
_base_ = ['./_base_/default_runtime.py', './_base_/retrieval.py']
test_dataloader = dict(
    dataset=dict(
        data_root='data/lit_cn/',
        ann_file='lit_cn.tsv',
        ann_format='tsv',
        data_prefix=dict(img_path='images/'),
        text_walk='long',
        lang='zh',
        lowercase=False))
