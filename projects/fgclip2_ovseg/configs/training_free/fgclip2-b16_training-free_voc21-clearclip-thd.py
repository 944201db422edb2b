# The same benchmark with ClearCLIP's background threshold, prob_thd=0.5 (mc-lan/ClearCLIP
# configs/cfg_voc21.py l.6) instead of SCLIP's 0.1, and
# no area threshold (ClearCLIP has none); everything else unchanged.
_base_ = './fgclip2-b16_training-free_voc21.py'
model = dict(prob_thd=0.5, area_thd=None)
