# Synthetic twin with English + Chinese class embeddings averaged.
_base_ = './fvit_fgclip2-tiny_simplefpn_synthetic-ov.py'

model = dict(roi_head=dict(bbox_head=dict(language='en+zh')))
