_base_ = ['./eval_dataloader.py']
# Image-text retrieval (spec §6.2 / §6.3): R@1/5/10 image->text and text->image over the
# whole gallery. Short-caption benchmarks: short walk, 64 tokens; long-caption ones:
# text_walk='long' (196 tokens). Texts are lower-cased except the Chinese long sets.
test_dataloader = dict(
    dataset=dict(type='fgclip2_mm.FGCLIP2RetrievalDataset', text_walk='short', lang='en'))
test_evaluator = dict(type='fgclip2_mm.FGCLIP2RetrievalMetric', ks=(1, 5, 10))
