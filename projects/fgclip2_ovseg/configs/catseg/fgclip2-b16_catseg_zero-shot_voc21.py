# Zero-shot test of the COCO-Stuff-171-trained model on voc21.
_base_ = [
    '../_base_/models/fgclip2_catseg.py', '../_base_/datasets/voc21.py',
    '../_base_/default_runtime.py', '../_base_/schedules/test_only.py'
]
model = dict(vocabulary=dict(dataset='fgclip2_mm.PascalVOC21Dataset'))
load_from = 'work_dirs/fgclip2-b16_catseg_4xb1-80k_coco-stuff171-384x384/iter_80000.pth'
train_dataloader = None  # evaluation only
