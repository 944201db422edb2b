# COCO-Object: COCO val2017 with 80 things + background; labels *_objectTrainIds.png made
# from COCO-Stuff-171 train ids by projects/fgclip2_ovseg/tools/convert_coco_object.py.
_base_ = ['mmseg::_base_/datasets/coco-stuff164k.py', './ov_pipelines.py']
dataset_type = 'fgclip2_mm.COCOObjectDataset'
test_pipeline = {{_base_.ov_test_pipeline}}
val_dataloader = dict(dataset=dict(type=dataset_type, pipeline=test_pipeline))
test_dataloader = val_dataloader
