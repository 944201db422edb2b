# Trained FG-CLIP 2 segmentation with CAT-Seg's recipe (cvlab-kaist/CAT-Seg HEAD 6d3a188,
# configs/vitb_384.yaml + configs/config.yaml; the project README's protocol table cites each
# line): CAT-Seg's aggregator (FGCLIP2CATSegHead: Swin spatial + linear class aggregation,
# 128 wide, 2 layers, guidance 128 / 128 / (32, 16), class pruning and padding to 256, BCE),
# q/v fine-tuning of both towers, layers 3 and 7 guiding the x2 and x4 stages, one prompt
# template ('single'), and CAT-Seg's test inference (640 x 640, 384 windows at stride 256 +
# a global view, sigmoid scores averaged). The light head (FGCLIP2CostAggregationHead,
# softmax cross-entropy) is the named alternative: decode_head=dict(_delete_=True,
# type='fgclip2_mm.FGCLIP2CostAggregationHead', ...), as the synthetic config does.
model = dict(
    type='fgclip2_mm.FGCLIP2CATSegmentor',
    clip='checkpoints/fg-clip2-base',
    tokenizer=None,  # defaults to the checkpoint folder; leaf configs add vocabulary=...
    language='en',
    # PROMPT_ENSEMBLE_TYPE "single" (vitb_384.yaml l.31) = cat_seg_predictor.py l.84-85
    templates=dict(en=['A photo of a {} in the scene'], zh='seg_zh'),
    # CLIP_FINETUNE "attention" (vitb_384.yaml l.30; cat_seg_model.py l.58-75): q / v weights
    # of every attention of both towers; keys, biases, MLPs, norms, position tables frozen
    finetune='attention',
    # guidance_layers: the default (3, 7) for 12 layers, (7, 15) for 24, cat_seg_model.py l.84
    patch_budget='native',  # 384 px -> the 24 x 24 grid of FEATURE_RESOLUTION
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
        type='fgclip2_mm.FGCLIP2CATSegHead',
        embed_dims=128,  # HIDDEN_DIMS
        guidance_dims=128,  # APPEARANCE_GUIDANCE_PROJ_DIM
        text_guidance_dims=128,  # TEXT_GUIDANCE_PROJ_DIM
        num_blocks=2,  # NUM_LAYERS (B/16)
        num_heads=4,
        window_size=12,
        pooling_size=(2, 2),  # POOLING_SIZES while training (B/16)
        test_pooling_size=(1, 1),  # eval.sh: POOLING_SIZES "[1,1]"
        pad_len=256,  # Aggregator pad_len (model.py l.575)
        decoder_dims=(64, 32),
        guidance_channels=(256, 128),  # DECODER_GUIDANCE_DIMS
        decoder_guidance_dims=(32, 16)),  # DECODER_GUIDANCE_PROJ_DIMS
    test_cfg=dict(mode='slide_global', resize=(640, 640), crop_size=(384, 384),
                  stride=(256, 256)))
