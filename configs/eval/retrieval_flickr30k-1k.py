# Flickr30k 1k test (Karpathy split, 5 captions per image), short walk, 64 tokens.
# Paper R@1 I->T / T->I: FG-CLIP 2 B/16 94.1 / 81.9, L/16 96.6 / 84.8, So/16 95.9 / 85.0.
_base_ = ['./_base_/default_runtime.py', './_base_/retrieval.py']
test_dataloader = dict(
    dataset=dict(
        data_root='data/flickr30k/',
        ann_file='dataset_flickr30k.json',
        ann_format='karpathy',
        data_prefix=dict(img_path='images/'),
        text_walk='short',
        lang='en',
        lowercase=True,
        split='test'))
