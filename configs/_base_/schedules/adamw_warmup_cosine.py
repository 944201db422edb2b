# The released stage-2 optimisation (spec section 4.2, scripts/train/stage2_fgclip2.sh):
# AdamW(0.9, 0.98, eps 1e-6), lr 1e-6, weight decay 1e-3 (not on biases, norms, logit
# scales/biases, position tables and probes: FGCLIP2OptimWrapperConstructor, reference
# bug 3.7 #11), linear warm-up over 3 % of the steps then cosine to 0, bf16 autocast.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(type='AdamW', lr=1e-6, betas=(0.9, 0.98), eps=1e-6, weight_decay=1e-3),
    constructor='FGCLIP2OptimWrapperConstructor')

# 6 epochs of FineHARD (12 M) + Chinese (12 M) at a global batch of 8 x 512 = 4096:
# 6 * 24e6 / 4096 = 35156 steps. Iteration-based so that --resume continues mid-epoch
# exactly (the loop replays the sampler to the saved step).
max_iters = 35156
warmup_iters = int(0.03 * max_iters)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters + 1)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=warmup_iters, end=max_iters,
         T_max=max_iters - warmup_iters, eta_min=0.0)
]
# The recipe's lr is for 8 GPUs x 512. `--cfg-options auto_scale_lr.enable=True` scales it
# linearly with the real global batch.
auto_scale_lr = dict(enable=False, base_batch_size=4096)
