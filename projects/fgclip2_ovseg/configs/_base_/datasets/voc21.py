# PASCAL VOC-21: VOC 2012 val, label 0 = background.
_base_ = ['mmseg::_base_/datasets/pascal_voc12.py', './ov_pipelines.py']
dataset_type = 'fgclip2_mm.PascalVOC21Dataset'
test_pipeline = {{_base_.ov_test_pipeline}}
train_dataloader = dict(dataset=dict(type=dataset_type))
val_dataloader = dict(dataset=dict(type=dataset_type, pipeline=test_pipeline))
test_dataloader = val_dataloader
