# Synthetic twin of the OV-COCO config: the quick start's tiny pretrained FG-CLIP 2, the
# synthetic world (12 base / 4 novel shapes), 320 px, CPU-sized heads. The quick start
# (fgclip2_mm/quickstart/ov_det_stage.py) sets the checkpoint, its width and the schedule.
_base_ = [
    '../_base_/models/fvit_fgclip2-b16_simplefpn.py', '../_base_/datasets/synthetic_ov.py',
    '../_base_/schedules/adamw_synthetic.py', '../_base_/default_runtime.py'
]

fgclip2_checkpoint = 'work_dirs/quickstart/pretrain/model'
tokenizer = 'data/synthetic/tokenizer'
vit_width = 32  # the 'tiny' arch; the quick start reads it from the checkpoint
model = dict(
    backbone=dict(vit=dict(arch='tiny'), checkpoint=fgclip2_checkpoint, out_indices=None,
                  norm_cfg=dict(type='BN', requires_grad=True)),
    neck=dict(in_channels=[vit_width] * 4, out_channels=64, norm_cfg=None),
    # The synthetic world keeps its own head and test settings (the ones its measured
    # numbers were made with), written out here, where the real-data base follows F-ViT:
    # one RPN conv, no box FC, a learned background, no ReLU before the cosine, the world's
    # templates, region temperature 50 over the classes only, test NMS IoU 0.5.
    rpn_head=dict(in_channels=64, feat_channels=64, num_convs=1),
    roi_head=dict(
        # 2 x 2 samples per bin: mmcv's CPU RoIAlign (backward above all) is the costliest op
        # here with the adaptive default
        bbox_roi_extractor=dict(out_channels=64, roi_layer=dict(sampling_ratio=2)),
        bbox_head=dict(
            num_shared_convs=0,
            num_reg_fcs=0,
            in_channels=64,
            fc_out_channels=256,
            norm_cfg=None,
            classifier=dict(temperature=50.0, relu=False),
            background='learned',
            ensemble=dict(alpha=0.1, beta=0.8, temperature=50.0, background=False),
            text_embeddings=dict(
                checkpoint=fgclip2_checkpoint,
                tokenizer=tokenizer,
                templates=dict(en='synthetic_mixed_en', zh='synthetic_mixed_zh'),
                name_style='plain'))),
    # A world image holds 1-8 shapes: far fewer proposals and sampled RoIs than on COCO.
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(
        rpn=dict(nms_pre=500, max_per_img=100),
        rcnn=dict(score_thr=0.01, nms=dict(type='nms', iou_threshold=0.5), max_per_img=50)))

default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=100))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
