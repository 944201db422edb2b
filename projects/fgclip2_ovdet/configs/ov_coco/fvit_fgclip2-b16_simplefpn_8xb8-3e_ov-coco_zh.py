# The same detector with a Chinese vocabulary (the 65 class names in Chinese, Chinese prompt
# templates), trained and evaluated exactly as the English config.
_base_ = './fvit_fgclip2-b16_simplefpn_8xb8-3e_ov-coco.py'

model = dict(roi_head=dict(bbox_head=dict(language='zh')))
