# FG-CLIP 2 B/16 with the five stage-2 losses and the reference's weights (spec 3.6):
# L = L_sig(long) + L_sig(short) + 0.2 L_FGV + 0.1 L_TIC + 0.5 (0.6 L_con + 3 L_pair + 0.4 L_CMR)
model = dict(
    type='FGCLIP2',
    arch='base',
    vision_backbone=dict(type='FGCLIP2VisionTransformer', arch='base', with_cp=True),
    text_encoder=dict(type='FGCLIP2TextEncoder', arch='base', with_cp=True),
    # 'budget': pad every batch to its NaFlex bucket, as the reference collator.
    data_preprocessor=dict(type='FGCLIP2DataPreprocessor', pad_to='budget'),
    losses=dict(
        sigmoid=dict(type='FGCLIP2SigmoidLoss', dist_impl='gather'),
        region=dict(type='FGCLIP2RegionContrastiveLoss', loss_weight=0.2),
        tic=dict(type='FGCLIP2TICLoss', loss_weight=0.1, top_k=10),
        hard_negative=dict(
            type='FGCLIP2HardNegativeLoss', loss_weight=0.5, part_weights=(0.6, 3.0, 0.4))))
