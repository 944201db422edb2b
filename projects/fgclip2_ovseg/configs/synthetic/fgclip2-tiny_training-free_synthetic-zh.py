# The same with the Chinese class names and templates.
_base_ = './fgclip2-tiny_training-free_synthetic.py'
model = dict(language='zh')
