# DCI-CN (image<TAB>caption), long walk, 196 tokens, no lower-casing (Chinese long).
# Paper R@1 I->T / T->I: FG-CLIP 2 B/16 53.9 / 55.7, L/16 60.4 / 62.2, So/16 62.7 / 65.1.
_base_ = ['./_base_/default_runtime.py', './_base_/retrieval.py']
test_dataloader = dict(
    dataset=dict(
        data_root='data/dci_cn/',
        ann_file='dci_cn.tsv',
        ann_format='tsv',
        data_prefix=dict(img_path='images/'),
        text_walk='long',
        lang='zh',
        lowercase=False))
