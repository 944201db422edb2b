# ImageNet-1K val, zero-shot, the 80 CLIP templates, fixed budget of 1024 patches.
# Layout: data/imagenet/val/<wnid>/*.JPEG and data/imagenet/classnames_en.txt (the 1000 class
# names in label order, one per line; not shipped). Chinese prompts:
# --cfg-options test_dataloader.dataset.templates=imagenet_zh test_dataloader.dataset.lang=zh
#   test_dataloader.dataset.classes=data/imagenet/classnames_zh.txt
# Paper top-1: FG-CLIP 2 B/16 79.5, L/16 83.0, So/16 84.1.
_base_ = ['./_base_/default_runtime.py', './_base_/zeroshot_cls.py']
test_dataloader = dict(
    dataset=dict(
        data_root='data/imagenet/',
        ann_file='',
        data_prefix=dict(img_path='val/'),
        classes='data/imagenet/classnames_en.txt'))
