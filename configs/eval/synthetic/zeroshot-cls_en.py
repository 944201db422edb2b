# Synthetic zero-shot classification (cls_val.txt: one large shape per image, 16 shape
# classes), English shape names with the template 'a {}'.
_base_ = ['./_base_/zeroshot_cls.py']
test_dataloader = dict(
    dataset=dict(ann_file='annotations/cls_val.txt', classes='synthetic',
                 templates='synthetic_bare_en', lang='en'))
