_base_ = [
    '../_base_/models/fgclip2_training_free.py', '../_base_/datasets/pascal_context_459.py',
    '../_base_/default_runtime.py', '../_base_/schedules/test_only.py'
]
model = dict(vocabulary=dict(dataset='fgclip2_mm.PascalContext459Dataset'))
train_dataloader = None  # evaluation only
