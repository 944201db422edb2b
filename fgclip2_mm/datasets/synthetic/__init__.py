"""Temporary alias of :mod:`fgclip2_mm.synthetic_world` (moved out of ``datasets/``)."""
import importlib
import sys

_NEW = 'fgclip2_mm.synthetic_world'
_pkg = importlib.import_module(_NEW)
for _name in ('captions', 'coco_writer', 'fileio', 'generate', 'image_job', 'negatives',
              'phrases', 'profiles', 'relations', 'render', 'scene', 'shapes', 'statistics',
              'tokenizer', 'vocabulary', 'world_info', 'world_meta', 'writers'):
    sys.modules[f'{__name__}.{_name}'] = importlib.import_module(f'{_NEW}.{_name}')
sys.modules[__name__] = _pkg
