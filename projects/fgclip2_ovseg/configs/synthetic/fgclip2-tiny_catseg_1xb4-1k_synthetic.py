# The trained head on the synthetic world: frozen pretrained tiny FG-CLIP 2, a small
# cost-aggregation head, 1k iterations of 256 px images from the train split (CPU-sized);
# a fixed budget of 256 patches, the pretraining's, for training and test images.
_base_ = [
    '../_base_/models/fgclip2_catseg.py', '../_base_/datasets/synthetic_seg.py',
    '../_base_/default_runtime.py', '../_base_/schedules/catseg_80k.py'
]
max_iters = 1000
model = dict(
    clip='work_dirs/quickstart/pretrain/model',
    tokenizer='data/synthetic/tokenizer',
    vocabulary=dict(world='data/synthetic'),  # the world's classes (world_meta.json)
    templates=dict(en='synthetic_size_en', zh='synthetic_size_zh'),
    finetune='none',
    patch_budget=256,
    data_preprocessor=dict(size=(256, 256)),
    decode_head=dict(  # the light head and its softmax cross-entropy, not CAT-Seg's
        _delete_=True,
        type='fgclip2_mm.FGCLIP2CostAggregationHead',
        embed_dims=16,
        guidance_dims=8,
        text_guidance_dims=8,
        num_blocks=1,
        decoder_dims=(8, ),
        decoder_guidance_dims=(8, )),
    test_cfg=dict(_delete_=True, mode='whole'))
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=1e-4), clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters, eta_min=0)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
