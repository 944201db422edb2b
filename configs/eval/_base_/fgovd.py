_base_ = ['./eval_dataloader.py']
# FG-OVD (spec §6.5): one box + its positive and negative expressions per record, box walk,
# softmax(100 cos), the positive must score highest (ties count as correct).
test_dataloader = dict(dataset=dict(type='fgclip2_mm.FGCLIP2FGOVDDataset', text_walk='box'))
test_evaluator = dict(type='fgclip2_mm.FGCLIP2FGOVDMetric')
