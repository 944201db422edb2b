# Trained protocol (CAT-Seg style): train on COCO-Stuff-171, batch 4 (4 GPUs x 1), 80k iters.
_base_ = [
    '../_base_/models/fgclip2_catseg.py', '../_base_/datasets/coco_stuff171.py',
    '../_base_/default_runtime.py', '../_base_/schedules/catseg_80k.py'
]
model = dict(vocabulary=dict(dataset='fgclip2_mm.COCOStuff171Dataset'))
train_dataloader = dict(batch_size=1)
