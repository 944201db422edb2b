# Synthetic twin with the Chinese vocabulary (Chinese shape names and templates).
_base_ = './fvit_fgclip2-tiny_simplefpn_synthetic-ov.py'

model = dict(roi_head=dict(bbox_head=dict(language='zh')))
