# Fine-tune a released FG-CLIP 2 on your own COCO-format data (README "Fine-tune on your
# data"): the stage-2 recipe (five losses and their weights, AdamW, lr 1e-6, 3 % warm-up then
# cosine, bf16, NaFlex <= 1024 patches), started from a released checkpoint folder, trained
# on the FineHARD-format records of tools/dataset_converters/coco_to_finehard.py, validated
# and tested with box classification over the categories of your val instances file.
#
#   python tools/dataset_converters/coco_to_finehard.py \
#       data/coco/annotations/instances_train2017.json \
#       data/coco/annotations/finehard_train2017.json
#   bash tools/dist_train.sh configs/fgclip2_finetune_coco-format.py 8
#   python tools/test.py configs/fgclip2_finetune_coco-format.py \
#       work_dirs/fgclip2_finetune_coco-format/iter_300.pth
#
# Other data: --cfg-options train_dataloader.dataset.data_root=... (ann_file, data_prefix)
# and the same keys of val_dataloader / test_dataloader; another size: model.arch=large ...
_base_ = ['./fgclip2_stage2.py', './eval/_base_/box_cls.py']
# A released (or converted) FG-CLIP 2 folder: weights, config and the tokenizer, e.g.
# `huggingface-cli download qihoo360/fg-clip2-base --local-dir checkpoints/fg-clip2-base`.
checkpoint = 'checkpoints/fg-clip2-base'
data_root = 'data/coco/'
model = dict(init_cfg=dict(checkpoint=checkpoint))
tokenizer = dict(folder=checkpoint)
# The recipe's pipeline with the checkpoint's tokenizer.
train_pipeline = [
    dict(t, tokenizer=tokenizer) if t['type'] == 'FGCLIP2Tokenize' else t
    for t in _base_.train_pipeline
]
# One English FineHARD-format file (the converter's output), boxes largest first.
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='FGCLIP2FineHARDDataset',
        data_root=data_root,
        ann_file='annotations/finehard_train2017.json',
        data_prefix=dict(img_path='train2017/'),
        pipeline=train_pipeline))  # its FGCLIP2SampleRegions keeps the first 4 boxes
# Box classification on the held-out instances (the categories of the file, the 80 CLIP
# templates, box walk): `box_cls/top1`, `box_cls/top5`.
test_dataloader = dict(
    _base_.test_dataloader,
    dataset=dict(
        _base_.test_dataloader.dataset,
        data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img_path='val2017/')))
test_cfg = dict(type='fgclip2_mm.FGCLIP2TestLoop', tokenizer=checkpoint, cache_dir=None)
val_dataloader = test_dataloader
val_evaluator = _base_.test_evaluator
val_cfg = dict(type='fgclip2_mm.FGCLIP2ValLoop', tokenizer=checkpoint, cache_dir=None)
# Fine-tuning length: about 10 epochs of COCO train2017 (118k images) at the recipe's
# global batch of 8 x 512; scale it with your data (epochs * images / global batch).
max_iters = 300
warmup_iters = int(0.03 * max_iters)
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=warmup_iters, end=max_iters,
         T_max=max_iters - warmup_iters, eta_min=0.0)
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
