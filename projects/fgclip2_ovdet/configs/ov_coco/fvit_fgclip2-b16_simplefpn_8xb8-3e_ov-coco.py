# F-ViT + frozen FG-CLIP 2 B/16 on OV-COCO 48/17. Target: novel AP50 >= 37.6 (F-ViT +
# CLIPSelf B/16). 8 GPUs x 8 images, 640 px large-scale jitter, 3 epochs.
_base_ = [
    '../_base_/models/fvit_fgclip2-b16_simplefpn.py', '../_base_/datasets/ov_coco_48_17.py',
    '../_base_/schedules/adamw_3e.py', '../_base_/default_runtime.py'
]

default_hooks = dict(
    checkpoint=dict(max_keep_ckpts=1, save_best='coco/novel_ap50', rule='greater'))
