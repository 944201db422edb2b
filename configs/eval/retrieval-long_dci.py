# DCI (one json per image, its extra_caption), long walk, 196 tokens.
# Paper R@1 I->T / T->I: FG-CLIP 2 B/16 64.5 / 64.9, L/16 70.0 / 71.6, So/16 70.6 / 72.1.
_base_ = ['./_base_/default_runtime.py', './_base_/retrieval.py']
test_dataloader = dict(
    dataset=dict(
        data_root='data/dci/',
        ann_file='densely_captioned_images/complete',
        ann_format='dci',
        data_prefix=dict(img_path='photos/'),
        text_walk='long',
        lang='en',
        lowercase=True))
