# PASCAL-Context-60 (mmseg layout, label 0 = background is a class).
_base_ = ['mmseg::_base_/datasets/pascal_context.py', './ov_pipelines.py']
dataset_type = 'fgclip2_mm.PascalContext60Dataset'
test_pipeline = {{_base_.ov_test_pipeline}}
train_dataloader = dict(dataset=dict(type=dataset_type))
val_dataloader = dict(dataset=dict(type=dataset_type, pipeline=test_pipeline))
test_dataloader = val_dataloader
