# So/16 (so400m) variant (27 layers, width 1152).
_base_ = './fvit_fgclip2-b16_simplefpn_8xb8-3e_ov-coco.py'

fgclip2_checkpoint = 'checkpoints/fgclip2_so400m_mm'
model = dict(
    backbone=dict(vit=dict(arch='so400m'), checkpoint=fgclip2_checkpoint,
                  out_indices=(6, 13, 20, 26)),
    neck=dict(in_channels=[1152, 1152, 1152, 1152]),
    roi_head=dict(bbox_head=dict(fc_out_channels=768,
                                 text_embeddings=dict(checkpoint=fgclip2_checkpoint))))
