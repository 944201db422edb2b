# F-ViT + frozen FG-CLIP 2 B/16 on OV-LVIS 866/337 (mask). Target: mask APr >= 25.3 (F-ViT +
# CLIPSelf B/16). 8 GPUs x 8 images, 1024 px large-scale jitter, 48 epochs. What differs
# from the OV-COCO model follows F-ViT's OV-LVIS config (wusize/CLIPSelf
# F-ViT/configs/ov_lvis/fvit_vitb16_upsample_fpn_bs64_4x_ovlvis_eva_original.py, "lvis:<line>").
_base_ = [
    '../_base_/models/fvit_fgclip2-b16_simplefpn_mask.py',
    '../_base_/datasets/ov_lvis_866_337.py', '../_base_/schedules/adamw_48e.py',
    '../_base_/default_runtime.py'
]

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    # two RPN convs with synchronised BN (lvis:20-36, F-ViT's CustomRPNHead with MMSyncBN)
    rpn_head=dict(type='fgclip2_mm.FGCLIP2RPNHead', num_convs=2, norm_cfg=norm_cfg),
    roi_head=dict(bbox_head=dict(
        bg_loss_weight=0.9,  # lvis:59
        ensemble=dict(alpha=0.1, beta=0.6, temperature=50.0))),  # lvis:63-66
    train_cfg=dict(rcnn=dict(assigner=dict(match_low_quality=True))),  # lvis:128
    test_cfg=dict(
        rcnn=dict(score_thr=0.0001, nms=dict(type='nms', iou_threshold=0.5),
                  max_per_img=300)))  # lvis:145-149
# LVIS metainfo has no base split: the 866 common + frequent classes are base, matched by
# category id (F-ViT: lvis_v1_seen_classes.json, 866 names).
custom_hooks = [
    dict(type='fgclip2_mm.FGCLIP2VocabularyHook',
         base_from_frequency=dict(ann_file='data/lvis_v1/annotations/lvis_v1_val.json',
                                  novel=('r', )))
]
# The last checkpoint is reported; val is the test split, nothing is selected on it
# (lvis:225: checkpoint_config = dict(interval=1, max_keep_ckpts=1, save_last=True)).
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1, save_last=True))
