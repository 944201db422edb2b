"""Data preprocessors of fgclip2_mm (torch + mmengine only)."""
from .fgclip2_preprocessor import FGCLIP2DataPreprocessor

__all__ = ['FGCLIP2DataPreprocessor']
