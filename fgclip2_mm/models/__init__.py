"""FG-CLIP 2 models. Importing this package registers every model class in ``MODELS``
(including the data preprocessor and the losses, whose packages are imported here)."""
from . import data_preprocessors, evaluators, losses  # noqa: F401  (registration)
from .backbones import FGCLIP2VisionTransformer
from .text_encoders import FGCLIP2TextEncoder
from .vlms import FGCLIP2

__all__ = ['FGCLIP2VisionTransformer', 'FGCLIP2TextEncoder', 'FGCLIP2']
