"""Vision backbones."""
from .fgclip2_vit import FGCLIP2VisionTransformer

__all__ = ['FGCLIP2VisionTransformer']
