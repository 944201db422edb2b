"""Model-side glue of the evaluation suite (registered in ``MODELS``)."""
from .from_folder import FGCLIP2FromFolder

__all__ = ['FGCLIP2FromFolder']
