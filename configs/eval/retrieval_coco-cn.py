# COCO-CN (pair.txt: 1000 images x 5 Chinese captions, image<TAB>caption lines), short walk.
# Paper R@1 I->T / T->I: FG-CLIP 2 B/16 77.2 / 62.9, L/16 82.8 / 66.5, So/16 83.2 / 68.1.
_base_ = ['./_base_/default_runtime.py', './_base_/retrieval.py']
test_dataloader = dict(
    dataset=dict(
        data_root='data/coco_cn/',
        ann_file='pair.txt',
        ann_format='tsv',
        data_prefix=dict(img_path='images/'),
        text_walk='short',
        lang='zh',
        lowercase=True))
