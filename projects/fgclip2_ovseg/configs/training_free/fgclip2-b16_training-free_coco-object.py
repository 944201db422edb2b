# Training-free coco-object with a background decided by the probability threshold: pixels whose
# best class probability is below prob_thd go to the background (label 0). SCLIP sets 0.1
# (wangf3014/SCLIP configs/cfg_coco_object.py l.7); ClearCLIP sets 0.4 (mc-lan/ClearCLIP
# configs/cfg_coco_object.py l.6): *_coco-object-clearclip-thd.py evaluates it.
_base_ = [
    '../_base_/models/fgclip2_training_free.py', '../_base_/datasets/coco_object.py',
    '../_base_/default_runtime.py', '../_base_/schedules/test_only.py'
]
model = dict(vocabulary=dict(dataset='fgclip2_mm.COCOObjectDataset'), prob_thd=0.1, bg_idx=0)
train_dataloader = None  # evaluation only
