# Stage 2 on the synthetic bilingual world, from scratch on CPU: the quick start's
# pretraining (fgclip2_mm/quickstart/pretrain_stage.py, <= 10 min on 2 cores). The losses,
# their weights, the pipeline and the optimizer rule are the released recipe's; what differs
# is sized for a tiny random model and a few hundred CPU steps, each change with its reason:
_base_ = [
    './_base_/models/fgclip2_base.py', './_base_/datasets/synthetic_bilingual.py',
    './_base_/schedules/adamw_warmup_cosine.py', './_base_/default_runtime.py'
]
# The 'small' arch (64 wide, 2 layers per tower, MLP 256, models/utils/arch_zoo.py): the
# largest that fits the time budget. Its text positions are 32 (world texts have <= 39
# tokens; 64-token padding would make the text tower, which dominates the cost, twice as
# slow) stretched to 104 long positions; the tokenizer lengths of
# _base_/datasets/synthetic_bilingual.py match them. Random init (no SigLIP 2 offline).
#
# From random init the dense head attends uniformly (every region of an image gets the same
# feature, so the region losses see no signal for hundreds of steps):
# FGCLIP2SelfSimilarDenseInit ties its keys to its queries (models/vlms/dense_init.py).
# SigLIP's bias init (-10) suits batches of 32k; with 32 pairs per row it keeps every
# logit far below 0, negatives give no gradient and the embeddings collapse for ~300 steps:
# start at the prior log-odds of a positive pair instead, log(1 / 31).
model = dict(
    arch='small',
    vision_backbone=dict(arch='small', with_cp=False),
    text_encoder=dict(arch='small', with_cp=False),
    logit_bias_init=-3.4,
    init_cfg=dict(type='fgclip2_mm.FGCLIP2SelfSimilarDenseInit', scale=8.0),
    data_preprocessor=dict(pad_to='longest'))  # every image has the same fixed budget
# fp32 on CPU (bf16 matmuls are slower there); random init needs a much larger lr than
# the 1e-6 fine-tuning rate of the recipe, and stronger weight decay.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.05),
    constructor='FGCLIP2OptimWrapperConstructor')
# 800 steps of 32 images (~17 epochs): ~0.74 s per step on 2 cores (the dataloader worker
# and the two compute threads share them), i.e. about 10 minutes. Measured on this world:
# 1000 steps reach box classification 0.16 and hard-negative accuracy 0.40 (EN), far from
# converged; see the README "Pretraining" section for the numbers of this config.
max_iters = 800
warmup_iters = int(0.03 * max_iters)
train_cfg = dict(max_iters=max_iters, val_interval=max_iters + 1)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=warmup_iters, end=max_iters,
         T_max=max_iters - warmup_iters, eta_min=0.0)
]
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=max_iters))
# CPU: gloo, and DDP without device ids (mmengine would pass the local rank as one).
env_cfg = dict(dist_cfg=dict(backend='gloo'))
model_wrapper_cfg = dict(device_ids=None)
log_processor = dict(window_size=25)
