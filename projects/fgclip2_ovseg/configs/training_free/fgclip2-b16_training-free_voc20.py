_base_ = [
    '../_base_/models/fgclip2_training_free.py', '../_base_/datasets/voc20.py',
    '../_base_/default_runtime.py', '../_base_/schedules/test_only.py'
]
model = dict(vocabulary=dict(dataset='fgclip2_mm.PascalVOC20Dataset'))
train_dataloader = None  # evaluation only
