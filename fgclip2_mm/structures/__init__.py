"""Data structures of fgclip2_mm."""
from .fgclip2_data_sample import FGCLIP2DataSample

__all__ = ['FGCLIP2DataSample']
