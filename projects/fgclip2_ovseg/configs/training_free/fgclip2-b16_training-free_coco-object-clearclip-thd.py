# The same benchmark with ClearCLIP's background threshold, prob_thd=0.4 (mc-lan/ClearCLIP
# configs/cfg_coco_object.py l.6) instead of SCLIP's 0.1; everything else unchanged.
_base_ = './fgclip2-b16_training-free_coco-object.py'
model = dict(prob_thd=0.4)
