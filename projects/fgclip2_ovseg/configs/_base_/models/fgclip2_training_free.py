# Training-free FG-CLIP 2 segmentation: dense features vs box-walk class texts, sliding
# 448 px windows with FG-CLIP 2's dynamic patch budget per window.
model = dict(
    type='fgclip2_mm.FGCLIP2TrainingFreeSegmentor',
    clip='checkpoints/fg-clip2-base',  # a load_fgclip2 folder (official or converted)
    tokenizer=None,  # defaults to the checkpoint folder; leaf configs add vocabulary=...
    language='en',
    templates=dict(en='seg_en', zh='seg_zh'),
    prob_thd=0.0,
    bg_idx=0,
    patch_budget='dynamic',
    max_num_patches=4096,
    test_cfg=dict(mode='slide', crop_size=(448, 448), stride=(224, 224)))
