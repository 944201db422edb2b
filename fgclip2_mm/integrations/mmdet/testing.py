"""Test helpers (like ``mmdet.testing``): a tiny FG-CLIP 2 checkpoint, a tiny detector config
and a small synthetic world shared by the tests of one process. Nothing is downloaded."""
import copy
from typing import Optional

from fgclip2_mm.testing import synthetic_world, write_tiny_checkpoint  # noqa: F401


def tiny_detector_cfg(checkpoint: str,
                      cache_dir: Optional[str] = None,
                      vocabulary: Optional[dict] = None,
                      with_mask: bool = False,
                      ensemble: Optional[dict] = None) -> dict:
    """A CPU-sized :class:`FGCLIP2OVDetector` config on a tiny checkpoint (plain dicts).

    Args:
        checkpoint (str): A tiny FG-CLIP 2 folder (see :func:`write_tiny_checkpoint`).
        cache_dir (str, optional): Text-embedding cache (False disables it).
        vocabulary (dict, optional): ``set_vocabulary`` arguments applied at build.
        with_mask (bool): Add the class-agnostic mask head. Defaults to False.
        ensemble (dict, optional): Box-head ensemble settings (defaults to the head's).
    """
    channels = 16
    bbox_head = dict(
        type='fgclip2_mm.FGCLIP2OVBBoxHead',
        num_shared_fcs=1,
        in_channels=channels,
        fc_out_channels=32,
        roi_feat_size=7,
        num_classes=1,
        text_embeddings=dict(checkpoint=checkpoint, cache_dir=cache_dir,
                             templates=dict(en='synthetic_mixed_en', zh='synthetic_mixed_zh')),
        vocabulary=copy.deepcopy(vocabulary),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                        target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0))
    if ensemble is not None:
        bbox_head['ensemble'] = copy.deepcopy(ensemble)
    roi_head = dict(
        type='fgclip2_mm.FGCLIP2OVRoIHead',
        bbox_roi_extractor=dict(type='SingleRoIExtractor', out_channels=channels,
                                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                                featmap_strides=[4, 8, 16, 32]),
        bbox_head=bbox_head)
    rcnn_train = dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5,
                      match_low_quality=True, ignore_iof_thr=-1),
        sampler=dict(type='RandomSampler', num=64, pos_fraction=0.25, neg_pos_ub=-1,
                     add_gt_as_proposals=True),
        pos_weight=-1, debug=False)
    rcnn_test = dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5), max_per_img=20)
    if with_mask:
        roi_head['mask_roi_extractor'] = dict(
            type='SingleRoIExtractor', out_channels=channels, featmap_strides=[4, 8, 16, 32],
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0))
        roi_head['mask_head'] = dict(
            type='FCNMaskHead', num_convs=1, in_channels=channels, conv_out_channels=channels,
            class_agnostic=True, loss_mask=dict(type='CrossEntropyLoss', use_mask=True))
        rcnn_train['mask_size'] = 28
        rcnn_test['mask_thr_binary'] = 0.5
    return dict(
        type='fgclip2_mm.FGCLIP2OVDetector',
        data_preprocessor=dict(type='DetDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3,
                               bgr_to_rgb=True, pad_size_divisor=32, pad_mask=with_mask),
        backbone=dict(type='fgclip2_mm.FGCLIP2DetBackbone', checkpoint=checkpoint,
                      out_indices=None),
        neck=dict(type='FPN', in_channels=[32] * 4, out_channels=channels, num_outs=5),
        rpn_head=dict(
            type='RPNHead', in_channels=channels, feat_channels=channels,
            anchor_generator=dict(type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0],
                                  strides=[4, 8, 16, 32, 64]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                            target_stds=[1.0] * 4),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        roi_head=roi_head,
        train_cfg=dict(
            rpn=dict(
                assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                              min_pos_iou=0.3, match_low_quality=True, ignore_iof_thr=-1),
                sampler=dict(type='RandomSampler', num=64, pos_fraction=0.5, neg_pos_ub=-1,
                             add_gt_as_proposals=False),
                allowed_border=-1, pos_weight=-1, debug=False),
            rpn_proposal=dict(nms_pre=200, max_per_img=50, nms=dict(type='nms', iou_threshold=0.7),
                              min_bbox_size=0),
            rcnn=rcnn_train),
        test_cfg=dict(
            rpn=dict(nms_pre=200, max_per_img=50, nms=dict(type='nms', iou_threshold=0.7),
                     min_bbox_size=0),
            rcnn=rcnn_test))


def tiny_inferencer_cfg(checkpoint: str, max_num_patches: int = 64,
                        cache_dir: Optional[str] = None) -> dict:
    """A config :class:`FGCLIP2OVDetInferencer` builds without a dataset: the tiny detector
    (:func:`tiny_detector_cfg`) and a test pipeline that resizes to ``max_num_patches``
    NaFlex patches. Pass ``texts=`` to the inferencer (there is no dataset metainfo)."""
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='fgclip2_mm.FGCLIP2NaFlexResize', max_num_patches=max_num_patches),
        dict(type='PackDetInputs', meta_keys=('img_path', 'ori_shape', 'img_shape',
                                              'scale_factor'))
    ]
    return dict(model=tiny_detector_cfg(checkpoint, cache_dir=cache_dir),
                test_dataloader=dict(dataset=dict(pipeline=pipeline)),
                visualizer=dict(type='fgclip2_mm.FGCLIP2DetLocalVisualizer',
                                name='tiny_inferencer_vis'),
                default_scope='mmdet')
