# FG-CLIP 2 stage 1 (global semantic alignment), B/16: image-text pairs with a short and a
# long caption, only the two global sigmoid losses (spec 4.1). The stage-1 data (re-captioned
# LAION-2B, Wukong/Zero/in-house Chinese) and hyper-parameters are not public [UNV]: this
# config keeps the stage-2 optimisation and expects FineHARD-schema records without boxes.
_base_ = './fgclip2_stage2.py'

# No loss reads the dense head, the box-walk head or the region scales in stage 1: freeze
# them so that DDP (find_unused_parameters=False) sees every trainable parameter used.
model = dict(
    losses=dict(region=None, tic=None, hard_negative=None),
    frozen_params=('vision_backbone.dense_head.', 'text_encoder.boxtext_head.',
                   'logit_scale_region', 'logit_scale_hardneg'))

tokenizer = dict(folder='checkpoints/siglip2-base-patch16-naflex')
train_pipeline = [
    dict(type='FGCLIP2LoadImage'),
    dict(type='FGCLIP2NaFlexPatchify', max_num_patches=1024, dynamic_budget=True),
    dict(type='FGCLIP2SampleRegions', max_boxes=0),  # captions only
    dict(type='FGCLIP2Tokenize', tokenizer=tokenizer),  # no region texts to tokenise
    dict(type='FGCLIP2PackInputs'),
]
train_dataloader = dict(
    batch_sampler=dict(min_side=None),
    dataset=dict(datasets=[
        dict(type='FGCLIP2FineHARDDataset', data_root='data/stage1_en', ann_file='.',
             require_bbox_info=False, pipeline=train_pipeline),
        dict(type='FGCLIP2ChinesePairDataset', data_root='data/stage1_zh', ann_file='.',
             keep_boxes=False, pipeline=train_pipeline),
    ]))
