# ImageNet-v2 (matched frequency): folders 0 ... 999 (numeric label order), same class names
# and templates as ImageNet-1K. Paper top-1: FG-CLIP 2 B/16 72.2, L/16 77.4, So/16 77.8.
_base_ = ['./zeroshot-cls_imagenet-1k.py']
test_dataloader = dict(
    dataset=dict(
        data_root='data/imagenetv2/',
        data_prefix=dict(img_path='imagenetv2-matched-frequency-format-val/')))
