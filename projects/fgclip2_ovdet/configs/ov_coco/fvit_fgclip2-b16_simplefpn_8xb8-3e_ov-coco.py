# F-ViT + frozen FG-CLIP 2 B/16 on OV-COCO 48/17. Target: novel AP50 >= 37.6 (F-ViT +
# CLIPSelf B/16). 8 GPUs x 8 images, 640 px large-scale jitter, 3 epochs.
_base_ = [
    '../_base_/models/fvit_fgclip2-b16_simplefpn.py', '../_base_/datasets/ov_coco_48_17.py',
    '../_base_/schedules/adamw_3e.py', '../_base_/default_runtime.py'
]

# No checkpoint is selected on a metric: val is the test split (instances_val2017_all_2),
# so "best novel AP50" would select on the test set. Every epoch is saved and the last
# one is reported, as F-ViT's config does (checkpoint_config = dict(interval=1), no
# save_best: wusize/CLIPSelf F-ViT/configs/ov_coco/
# fvit_vitb16_upsample_fpn_bs64_3e_ovcoco_eva_original.py:137, 215).
default_hooks = dict(checkpoint=dict(interval=1, save_last=True))
