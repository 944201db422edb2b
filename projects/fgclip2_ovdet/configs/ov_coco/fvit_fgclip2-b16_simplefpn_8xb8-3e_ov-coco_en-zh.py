# English + Chinese: each class embedding is the mean of its English and Chinese ones.
_base_ = './fvit_fgclip2-b16_simplefpn_8xb8-3e_ov-coco.py'

model = dict(roi_head=dict(bbox_head=dict(language='en+zh')))
