# COCO 5k (val2017, first 5 captions per image), short walk, 64 tokens.
# Paper R@1 I->T / T->I: FG-CLIP 2 B/16 72.1 / 54.5, L/16 75.1 / 58.6, So/16 74.6 / 56.7.
_base_ = ['./_base_/default_runtime.py', './_base_/retrieval.py']
test_dataloader = dict(
    dataset=dict(
        data_root='data/coco/',
        ann_file='annotations/captions_val2017.json',
        ann_format='coco_captions',
        data_prefix=dict(img_path='val2017/'),
        text_walk='short',
        lang='en',
        lowercase=True,
        max_captions=5))
