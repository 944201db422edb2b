# The same benchmark with the Chinese class names and templates.
_base_ = './fgclip2-b16_training-free_context59.py'
model = dict(language='zh')
