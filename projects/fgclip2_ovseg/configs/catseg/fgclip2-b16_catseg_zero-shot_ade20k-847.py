# Zero-shot test of the COCO-Stuff-171-trained model on ade20k-847, CAT-Seg's test
# inference (eval.sh; the model's test_cfg and the 640 px pipeline). The last checkpoint is
# evaluated, as CAT-Seg reports model_final.pth (no checkpoint selection on a test split).
# More than 256 classes: FGCLIP2CATSegHead keeps the 256 of highest cost per view
# (CAT-Seg model.py l.693-701), as CAT-Seg evaluates A-847 and PC-459.
_base_ = [
    '../_base_/models/fgclip2_catseg.py', '../_base_/datasets/ade20k_847.py',
    '../_base_/default_runtime.py', '../_base_/schedules/test_only.py'
]
model = dict(vocabulary=dict(dataset='fgclip2_mm.ADE20K847Dataset'))
val_dataloader = dict(dataset=dict(pipeline={{_base_.catseg_test_pipeline_16bit}}))
test_dataloader = val_dataloader
load_from = 'work_dirs/fgclip2-b16_catseg_4xb1-80k_coco-stuff171-384x384/iter_80000.pth'
train_dataloader = None  # evaluation only
