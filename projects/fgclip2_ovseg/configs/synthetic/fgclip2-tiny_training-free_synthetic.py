# Training-free segmentation of the synthetic world's val split with the quick start's
# pretrained tiny FG-CLIP 2 (tools/quickstart.py writes it; override `model.clip` otherwise).
_base_ = [
    '../_base_/models/fgclip2_training_free.py', '../_base_/datasets/synthetic_seg.py',
    '../_base_/default_runtime.py', '../_base_/schedules/test_only.py'
]
model = dict(
    clip='work_dirs/quickstart/pretrain/model',
    tokenizer='data/synthetic/tokenizer',
    vocabulary=dict(world='data/synthetic'),  # the world's classes (world_meta.json)
    templates=dict(en='synthetic_size_en', zh='synthetic_size_zh'),
    patch_budget=256,  # the pretraining's budget
    test_cfg=dict(mode='whole'))
train_dataloader = None  # evaluation only
