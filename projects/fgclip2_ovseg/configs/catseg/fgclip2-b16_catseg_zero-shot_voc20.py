# Zero-shot test of the COCO-Stuff-171-trained model on voc20, CAT-Seg's test
# inference (eval.sh; the model's test_cfg and the 640 px pipeline). The last checkpoint is
# evaluated, as CAT-Seg reports model_final.pth (no checkpoint selection on a test split).
_base_ = [
    '../_base_/models/fgclip2_catseg.py', '../_base_/datasets/voc20.py',
    '../_base_/default_runtime.py', '../_base_/schedules/test_only.py'
]
model = dict(vocabulary=dict(dataset='fgclip2_mm.PascalVOC20Dataset'))
val_dataloader = dict(dataset=dict(pipeline={{_base_.catseg_test_pipeline}}))
test_dataloader = val_dataloader
load_from = 'work_dirs/fgclip2-b16_catseg_4xb1-80k_coco-stuff171-384x384/iter_80000.pth'
train_dataloader = None  # evaluation only
