# PASCAL-Context-59 (mmseg layout, reduce_zero_label=True: 0 = unlabeled is ignored).
_base_ = ['mmseg::_base_/datasets/pascal_context_59.py', './ov_pipelines.py']
dataset_type = 'fgclip2_mm.PascalContext59Dataset'
test_pipeline = {{_base_.ov_test_pipeline}}
train_dataloader = dict(dataset=dict(type=dataset_type))
val_dataloader = dict(dataset=dict(type=dataset_type, pipeline=test_pipeline))
test_dataloader = val_dataloader
