# Zero-shot test of the COCO-Stuff-171-trained model on VOC-21 as CAT-Seg's PAS-20b
# (eval.sh l.67-78, train_net.py VOCbEvaluator l.43-71): the prediction vocabulary is
# datasets/voc20b.json (the 20 VOC classes + 39 PASCAL-Context classes) and a pixel predicted
# as one of the 39 is background (train_net.py l.60: pred[pred >= 20] = 20). The
# training-free VOC-21 protocol (SCLIP / ClearCLIP) is configs/training_free/*_voc21.py.
_base_ = [
    '../_base_/models/fgclip2_catseg.py', '../_base_/datasets/voc20b.py',
    '../_base_/default_runtime.py', '../_base_/schedules/test_only.py'
]
model = dict(vocabulary={{_base_.pas20b_vocabulary}},
             class_to_label={{_base_.pas20b_class_to_label}})
val_dataloader = dict(dataset=dict(pipeline={{_base_.catseg_test_pipeline}}))
test_dataloader = val_dataloader
load_from = 'work_dirs/fgclip2-b16_catseg_4xb1-80k_coco-stuff171-384x384/iter_80000.pth'
train_dataloader = None  # evaluation only
