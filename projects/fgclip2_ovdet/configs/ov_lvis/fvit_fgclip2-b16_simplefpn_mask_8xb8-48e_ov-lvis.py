# F-ViT + frozen FG-CLIP 2 B/16 on OV-LVIS 866/337 (mask). Target: mask APr >= 25.3 (F-ViT +
# CLIPSelf B/16). 8 GPUs x 8 images, 1024 px large-scale jitter, 48 epochs.
_base_ = [
    '../_base_/models/fvit_fgclip2-b16_simplefpn_mask.py',
    '../_base_/datasets/ov_lvis_866_337.py', '../_base_/schedules/adamw_48e.py',
    '../_base_/default_runtime.py'
]

model = dict(
    roi_head=dict(bbox_head=dict(
        bg_loss_weight=0.9,
        ensemble=dict(alpha=0.1, beta=0.6, temperature=50.0))),  # F-ViT LVIS-B values
    test_cfg=dict(rcnn=dict(score_thr=0.0001, max_per_img=300)))
# LVIS metainfo has no base split: the 866 common + frequent classes are base.
custom_hooks = [
    dict(type='fgclip2_mm.FGCLIP2VocabularyHook',
         base_from_frequency=dict(ann_file='data/lvis_v1/annotations/lvis_v1_val.json',
                                  novel=('r', )))
]
default_hooks = dict(
    checkpoint=dict(max_keep_ckpts=1, save_best='lvis/segm_APr', rule='greater'))
