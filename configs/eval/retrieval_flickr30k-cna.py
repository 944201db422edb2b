# Flickr30k-CNA test (1000 images x 5 Chinese captions, image<TAB>caption lines), short walk.
# Paper R@1 I->T / T->I: FG-CLIP 2 B/16 85.4 / 69.9, L/16 90.3 / 75.0, So/16 91.5 / 77.2.
_base_ = ['./_base_/default_runtime.py', './_base_/retrieval.py']
test_dataloader = dict(
    dataset=dict(
        data_root='data/',
        ann_file='flickr30k_cna/flickr30k_cna_test.txt',
        ann_format='tsv',
        data_prefix=dict(img_path='flickr30k/images/'),
        text_walk='short',
        lang='zh',
        lowercase=True))
