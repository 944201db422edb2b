# Training-free voc21 with a background decided by the probability threshold: pixels whose
# best class probability is below prob_thd go to the background (label 0). SCLIP sets 0.1
# (wangf3014/SCLIP configs/cfg_voc21.py l.7); ClearCLIP sets 0.5 (mc-lan/ClearCLIP
# configs/cfg_voc21.py l.6, no area_thd): *_voc21-clearclip-thd.py evaluates that setting.
# SCLIP also drops classes covering <= 10% of the predicted foreground (area_thd 0.1,
# cfg_voc21.py l.8, on VOC-21 only).
_base_ = [
    '../_base_/models/fgclip2_training_free.py', '../_base_/datasets/voc21.py',
    '../_base_/default_runtime.py', '../_base_/schedules/test_only.py'
]
model = dict(vocabulary=dict(dataset='fgclip2_mm.PascalVOC21Dataset'), prob_thd=0.1,
             area_thd=0.1, bg_idx=0)
train_dataloader = None  # evaluation only
