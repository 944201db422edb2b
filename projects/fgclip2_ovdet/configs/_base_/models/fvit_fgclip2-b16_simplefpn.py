# F-ViT on frozen FG-CLIP 2 B/16: 4 taps -> simple pyramid -> FPN -> RPN -> ConvFC RoI head
# with the box-walk text classifier, class-agnostic regression and the region-score ensemble.
# Settings follow F-ViT's OV-COCO config (wusize/CLIPSelf, HEAD 1c7fe9c,
# F-ViT/configs/ov_coco/fvit_vitb16_upsample_fpn_bs64_3e_ovcoco_eva_original.py, "F-ViT
# coco:<line>" below); the OV-LVIS config overrides what F-ViT's OV-LVIS config changes.
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
        out_indices=(3, 5, 7, 11),  # F-ViT coco:17
        norm_cfg=norm_cfg),
    neck=dict(in_channels=[768, 768, 768, 768], norm_cfg=norm_cfg),
    rpn_head=dict(num_convs=2),  # F-ViT coco:40 (mmdet's RPNHead, two plain convs)
    roi_head=dict(
        type='fgclip2_mm.FGCLIP2OVRoIHead',
        bbox_head=dict(
            _delete_=True,
            type='fgclip2_mm.FGCLIP2OVBBoxHead',
            num_shared_convs=4,  # F-ViT coco:75-78: 4 convs, 2 FCs, 1 class FC, 1 box FC
            num_shared_fcs=2,
            num_reg_fcs=1,
            in_channels=256,
            conv_out_channels=256,
            fc_out_channels=512,
            roi_feat_size=7,
            norm_cfg=norm_cfg,
            num_classes=1,  # replaced by the vocabulary (FGCLIP2VocabularyHook)
            # the class FC is the classifier's projection to the text width, with F-ViT's
            # ReLU (F-ViT/models/fvit_head.py:95-96); temperature learned from 50 (coco:67)
            classifier=dict(temperature=50.0, relu=True),
            # background: the fixed text embedding of "background" (F-ViT's learn_bg=False,
            # fvit_head.py:24,51-61), in the vocabulary's language
            background='text',
            text_embeddings=dict(
                checkpoint=fgclip2_checkpoint,
                templates=dict(en='vild_en', zh='ovd_zh'),  # ViLD's 63 (F-ViT clip_utils.py)
                name_style='vild'),
            language='en',
            # region score: temperature 75, alpha 0.1, beta 0.8 (coco:68-70), softmax over
            # the classes and the background (fvit_head.py:113-119)
            ensemble=dict(alpha=0.1, beta=0.8, temperature=75.0, background=True),
            bg_loss_weight=0.6,  # F-ViT coco:7 (class_weight of the background)
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    test_cfg=dict(
        rpn=dict(nms_pre=2000, max_per_img=1000),  # F-ViT coco:128-132
        rcnn=dict(score_thr=0.01, nms=dict(type='nms', iou_threshold=0.4),
                  max_per_img=100)))  # F-ViT coco:133-136
