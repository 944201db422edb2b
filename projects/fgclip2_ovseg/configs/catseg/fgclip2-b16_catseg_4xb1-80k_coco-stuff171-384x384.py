# Trained protocol (CAT-Seg's recipe, see the model and schedule bases): train on
# COCO-Stuff-171, batch 4 (4 GPUs x 1), 80k iterations; the last checkpoint is the model
# (no selection on a test split). Validation uses CAT-Seg's test inference.
_base_ = [
    '../_base_/models/fgclip2_catseg.py', '../_base_/datasets/coco_stuff171.py',
    '../_base_/default_runtime.py', '../_base_/schedules/catseg_80k.py'
]
model = dict(vocabulary=dict(dataset='fgclip2_mm.COCOStuff171Dataset'))
train_dataloader = dict(batch_size=1)
val_dataloader = dict(dataset=dict(pipeline={{_base_.catseg_test_pipeline}}))
test_dataloader = val_dataloader
