# English and Chinese class embeddings averaged (prompt ensembling across languages).
_base_ = './fgclip2-b16_training-free_voc21.py'
model = dict(language='en+zh')
