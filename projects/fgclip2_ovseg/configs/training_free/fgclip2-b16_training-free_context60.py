# Training-free context60 with a background decided by the probability threshold: pixels whose
# best class probability is below prob_thd go to the background (label 0). SCLIP sets 0.1
# (wangf3014/SCLIP configs/cfg_context60.py l.7); ClearCLIP sets 0.15 (mc-lan/ClearCLIP
# configs/cfg_context60.py l.6): *_context60-clearclip-thd.py evaluates it.
_base_ = [
    '../_base_/models/fgclip2_training_free.py', '../_base_/datasets/pascal_context_60.py',
    '../_base_/default_runtime.py', '../_base_/schedules/test_only.py'
]
model = dict(vocabulary=dict(dataset='fgclip2_mm.PascalContext60Dataset'), prob_thd=0.1, bg_idx=0)
train_dataloader = None  # evaluation only
