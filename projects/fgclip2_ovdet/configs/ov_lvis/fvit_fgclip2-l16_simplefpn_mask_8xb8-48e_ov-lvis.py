# L/16 variant. Stretch target: mask APr >= 34.9.
_base_ = './fvit_fgclip2-b16_simplefpn_mask_8xb8-48e_ov-lvis.py'

fgclip2_checkpoint = 'checkpoints/fgclip2_large_mm'
model = dict(
    backbone=dict(vit=dict(arch='large'), checkpoint=fgclip2_checkpoint,
                  out_indices=(5, 11, 17, 23)),
    neck=dict(in_channels=[1024, 1024, 1024, 1024]),
    roi_head=dict(bbox_head=dict(fc_out_channels=768,
                                 text_embeddings=dict(checkpoint=fgclip2_checkpoint),
                                 ensemble=dict(beta=0.4))))  # F-ViT LVIS-L value
