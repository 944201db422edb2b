"""Vision-language models (and the dense-head initializer used to train them from scratch)."""
from .dense_init import FGCLIP2SelfSimilarDenseInit
from .fgclip2 import FGCLIP2

__all__ = ['FGCLIP2', 'FGCLIP2SelfSimilarDenseInit']
