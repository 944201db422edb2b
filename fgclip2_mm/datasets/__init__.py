"""Datasets, transforms and the tokenizer of fgclip2_mm.

Importing this package registers the dataloader transforms (no mmcv, mmdet or mmseg import;
transformers is imported only when a tokenizer is built). The synthetic data generator
(:mod:`fgclip2_mm.datasets.synthetic`, an offline tool with optional dependencies) is not
imported here; ``fgclip2_mm.datasets.synthetic`` is loaded on first attribute access.
"""
import importlib
from typing import Any

from .tokenization import FGCLIP2Tokenizer
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _transforms_all

_LAZY_SUBMODULES = ('synthetic', )

__all__ = ['FGCLIP2Tokenizer'] + list(_transforms_all)


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f'{__name__}.{name}')
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
