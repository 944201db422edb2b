# Stage-2 data on the synthetic bilingual world (tools/generate_synthetic_world.py): the
# FineHARD-schema English records and their Chinese twins, which (unlike the released
# Chinese data) carry boxes and hard negatives, in single-language batches.
data_root = 'data/synthetic/'
# Text lengths of the synthetic model (configs/fgclip2_stage2_synthetic.py: text max_len 32,
# long_len 104); the world's texts have at most 39 (short captions) and 21 (region texts)
# tokens. A model with the standard 64 / 196 positions needs the defaults instead.
tokenizer = dict(folder=data_root + 'tokenizer', short_length=32, long_length=104)
train_pipeline = [
    dict(type='FGCLIP2LoadImage'),
    dict(type='FGCLIP2NaFlexPatchify', max_num_patches=256, dynamic_budget=False),
    # <= 4 boxes drawn at random per load (the dataset yields every validated box).
    dict(type='FGCLIP2SampleRegions', max_boxes=4, num_negatives=10, expr_choice='random',
         box_selection='random'),
    # Short, long, region and hard-negative texts -> ids (fgclip2_mm.structures.batch_keys).
    dict(type='FGCLIP2Tokenize', tokenizer=tokenizer),
    dict(type='FGCLIP2PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),  # seed/epoch source only
    batch_sampler=dict(type='FGCLIP2BilingualBatchSampler', drop_last=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='FGCLIP2DatasetMixture',
        datasets=[
            dict(type='FGCLIP2FineHARDDataset', data_root=data_root,
                 ann_file='annotations/finehard_en_train.json', pipeline=train_pipeline),
            dict(type='FGCLIP2ChinesePairDataset', data_root=data_root,
                 ann_file='annotations/finehard_zh_train.json', keep_boxes=True,
                 pipeline=train_pipeline),
        ]))
