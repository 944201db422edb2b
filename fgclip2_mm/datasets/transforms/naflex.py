"""Temporary alias of :mod:`fgclip2_mm.utils.naflex` (NaFlex geometry moved out of ``datasets/``)."""
import sys

from fgclip2_mm.utils import naflex as _naflex

sys.modules[__name__] = _naflex
