"""Vision-language models."""
from .fgclip2 import FGCLIP2

__all__ = ['FGCLIP2']
