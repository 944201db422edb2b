# Chinese vocabulary for OV-LVIS. LVIS ships no Chinese names: provide
# data/lvis_v1/lvis_v1_classes_zh.txt (1203 lines, one name per class in category-id
# order; see the README), which the vocabulary hook reads.
_base_ = './fvit_fgclip2-b16_simplefpn_mask_8xb8-48e_ov-lvis.py'

model = dict(roi_head=dict(bbox_head=dict(language='zh')))
custom_hooks = [
    dict(type='fgclip2_mm.FGCLIP2VocabularyHook',
         classes_zh_file='data/lvis_v1/lvis_v1_classes_zh.txt',
         base_from_frequency=dict(ann_file='data/lvis_v1/annotations/lvis_v1_val.json',
                                  novel=('r', )))
]
