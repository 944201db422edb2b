# Synthetic long-caption retrieval, English: one long caption per val image, long walk
# (196 tokens), lower-cased.
_base_ = ['./_base_/retrieval.py']
test_dataloader = dict(
    dataset=dict(ann_file='annotations/retrieval_long_en_val.json', text_walk='long',
                 lang='en', lowercase=True))
test_evaluator = dict(prefix='retrieval_long')
