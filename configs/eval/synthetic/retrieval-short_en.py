# Synthetic short-caption retrieval, English: each val image with its short caption and two
# paraphrases, short walk (64 tokens), lower-cased.
_base_ = ['./_base_/retrieval.py']
test_dataloader = dict(
    dataset=dict(ann_file='annotations/retrieval_short_en_val.json', text_walk='short',
                 lang='en', lowercase=True))
test_evaluator = dict(prefix='retrieval_short')
