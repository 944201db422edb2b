# The test dataloader shared by every benchmark: one image per sample, in dataset order
# (metrics also re-order by sample index), images through the reference's evaluation
# preprocessing: FG-CLIP 2's dynamic patch bucket of each image, capped at 1024 patches
# (spec §6 / §8).
eval_pipeline = [
    dict(type='fgclip2_mm.FGCLIP2LoadImage'),
    dict(type='fgclip2_mm.FGCLIP2NaFlexPatchify', max_num_patches=1024),
    dict(type='fgclip2_mm.FGCLIP2PackInputs'),
]
test_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    collate_fn=dict(type='pseudo_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(pipeline=eval_pipeline))
