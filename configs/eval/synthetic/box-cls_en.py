# Synthetic box classification, English: every colour x shape phrase ('red circle', 176
# classes); a box's label is its annotation's (colour, shape).
_base_ = ['./_base_/box_cls.py']
test_dataloader = dict(
    dataset=dict(
        ann_file='annotations/instances_val.json',
        vocabulary='colour_shape',
        templates='synthetic_bare_en',
        lang='en'))
