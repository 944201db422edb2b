"""Text encoders."""
from .fgclip2_text_encoder import FGCLIP2TextEncoder

__all__ = ['FGCLIP2TextEncoder']
