# The same benchmark with the Chinese class names and templates.
_base_ = './fgclip2-b16_training-free_voc21.py'
model = dict(language='zh')
