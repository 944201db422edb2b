# ADE20K-150 validation (mmseg's dataset and layout).
_base_ = ['mmseg::_base_/datasets/ade20k.py', './ov_pipelines.py']
dataset_type = 'ADE20KDataset'
test_pipeline = {{_base_.ov_test_pipeline}}
train_dataloader = dict(dataset=dict(type=dataset_type))
val_dataloader = dict(dataset=dict(type=dataset_type, pipeline=test_pipeline))
test_dataloader = val_dataloader
