# The same benchmark with ClearCLIP's background threshold, prob_thd=0.15 (mc-lan/ClearCLIP
# configs/cfg_context60.py l.6) instead of SCLIP's 0.1; everything else unchanged.
_base_ = './fgclip2-b16_training-free_context60.py'
model = dict(prob_thd=0.15)
