# Stage-2 data of the released recipe (spec sections 4.2, 5): FineHARD (English, boxes and
# hard negatives) + Chinese pairs (no boxes, as the released loader), single-language
# global batches interleaved by dataset size, NaFlex buckets <= 1024 patches.
# Paths: README "Real data"; the tokenizer is the SigLIP 2 one shipped with the checkpoint.
tokenizer = dict(folder='checkpoints/siglip2-base-patch16-naflex')
# Reference extra: images with a side < 128 px are first resized to a 512 x 512 square
# (box_image_size; it distorts the aspect ratio, spec 3.7 #18: set min_side=None to skip).
small_image = dict(min_side=128, small_image_size=512)
train_pipeline = [
    dict(type='FGCLIP2LoadImage'),
    dict(type='FGCLIP2NaFlexPatchify', max_num_patches=1024, dynamic_budget=True,
         **small_image),
    # The first <= 4 boxes, short or long region expression at random, 11 texts per hard
    # box, "a photo of " before English short captions (the tokenizer lower-cases).
    dict(type='FGCLIP2SampleRegions', max_boxes=4, num_negatives=10, expr_choice='random'),
    # Short, long, region and hard-negative texts -> ids (fgclip2_mm.structures.batch_keys).
    dict(type='FGCLIP2Tokenize', tokenizer=tokenizer),
    dict(type='FGCLIP2PackInputs'),
]
train_dataloader = dict(
    batch_size=512,  # per GPU; the recipe runs 8 GPUs (global batch 4096)
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),  # seed/epoch source only
    batch_sampler=dict(type='FGCLIP2BilingualBatchSampler', drop_last=True,
                       bucket_by_budget=True, **small_image),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='FGCLIP2DatasetMixture',
        datasets=[
            dict(type='FGCLIP2FineHARDDataset', data_root='data/finehard', ann_file='jsonfiles',
                 data_prefix=dict(img_path='grit-12m'), pipeline=train_pipeline),
            dict(type='FGCLIP2ChinesePairDataset', data_root='data/cn_pairs', ann_file='.',
                 data_prefix=dict(img_path=''), keep_boxes=False, pipeline=train_pipeline),
        ]))
