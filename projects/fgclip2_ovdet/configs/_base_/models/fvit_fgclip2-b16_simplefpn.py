# F-ViT on frozen FG-CLIP 2 B/16: 4 taps -> simple pyramid -> FPN -> RPN -> ConvFC RoI head
# with the box-walk text classifier, class-agnostic regression and the region-score ensemble.
_base_ = 'mmdet::_base_/models/faster-rcnn_r50_fpn.py'

fgclip2_checkpoint = 'checkpoints/fgclip2_base_mm'  # load_fgclip2 folder (see the README)
norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    type='fgclip2_mm.FGCLIP2OVDetector',
    data_preprocessor=dict(
        mean=[127.5, 127.5, 127.5],  # SigLIP 2: x / 127.5 - 1 on RGB
        std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        _delete_=True,
        type='fgclip2_mm.FGCLIP2DetBackbone',
        vit=dict(type='FGCLIP2VisionTransformer', arch='base'),
        checkpoint=fgclip2_checkpoint,
        out_indices=(3, 5, 7, 11),
        norm_cfg=norm_cfg),
    neck=dict(in_channels=[768, 768, 768, 768], norm_cfg=norm_cfg),
    roi_head=dict(
        type='fgclip2_mm.FGCLIP2OVRoIHead',
        bbox_head=dict(
            _delete_=True,
            type='fgclip2_mm.FGCLIP2OVBBoxHead',
            num_shared_convs=4,
            num_shared_fcs=2,
            in_channels=256,
            conv_out_channels=256,
            fc_out_channels=512,
            roi_feat_size=7,
            norm_cfg=norm_cfg,
            num_classes=1,  # replaced by the vocabulary (FGCLIP2VocabularyHook)
            classifier=dict(temperature=50.0),
            text_embeddings=dict(
                checkpoint=fgclip2_checkpoint,
                templates=dict(en='ovd_en', zh='ovd_zh')),
            language='en',
            ensemble=dict(alpha=0.1, beta=0.8, temperature=50.0),
            bg_loss_weight=0.6,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))))
