# Trained FG-CLIP 2 segmentation: a CAT-Seg-style cost-aggregation head on the FG-CLIP 2
# encoder (attention projections fine-tuned), 384 px crops at ~1 patch per 16 px.
model = dict(
    type='fgclip2_mm.FGCLIP2CATSegmentor',
    clip='checkpoints/fg-clip2-base',
    tokenizer=None,  # defaults to the checkpoint folder; leaf configs add vocabulary=...
    language='en',
    templates=dict(en='seg_en', zh='seg_zh'),
    finetune='attention',
    patch_budget='native',
    max_num_patches=4096,
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(384, 384)),
    decode_head=dict(
        embed_dims=128,
        guidance_dims=32,
        text_guidance_dims=32,
        num_blocks=2,
        num_heads=4,
        decoder_dims=(64, 32),
        decoder_guidance_dims=(32, 16)),
    test_cfg=dict(mode='slide', crop_size=(384, 384), stride=(256, 256)))
