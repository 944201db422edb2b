# The box model + a class-agnostic FCN mask head (OV-LVIS).
_base_ = ['./fvit_fgclip2-b16_simplefpn.py', './agnostic_mask_head.py']

model = dict(
    data_preprocessor=dict(pad_mask=True),
    roi_head=dict(
        mask_roi_extractor={{_base_.mask_roi_extractor}}, mask_head={{_base_.mask_head}}),
    train_cfg=dict(rcnn=dict(mask_size=28)),
    test_cfg=dict(rcnn=dict(mask_thr_binary=0.5)))
