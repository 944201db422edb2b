_base_ = [
    '../_base_/models/fgclip2_training_free.py', '../_base_/datasets/ade20k_150.py',
    '../_base_/default_runtime.py', '../_base_/schedules/test_only.py'
]
model = dict(vocabulary=dict(dataset='ADE20KDataset'))
train_dataloader = None  # evaluation only
