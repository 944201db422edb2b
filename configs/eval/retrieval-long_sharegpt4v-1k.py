# ShareGPT4V-1k (first 1000 records of the share-captioner file), long walk, 196 tokens.
# Paper R@1 I->T / T->I: FG-CLIP 2 B/16 95.8 / 95.4, L/16 96.9 / 96.6, So/16 97.5 / 96.7.
_base_ = ['./_base_/default_runtime.py', './_base_/retrieval.py']
test_dataloader = dict(
    dataset=dict(
        data_root='data/sharegpt4v/',
        ann_file='share-captioner_coco_lcs_sam_1246k_1107.json',
        ann_format='sharegpt4v',
        data_prefix=dict(img_path=''),
        text_walk='long',
        lang='en',
        lowercase=True,
        max_images=1000))
