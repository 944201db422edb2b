"""fgclip2_mm: FG-CLIP 2 as an OpenMMLab plugin.

Importing the package never imports mmdet or mmseg: modules register lazily through the
``locations`` of :mod:`fgclip2_mm.registry`, and host glue lives in
``fgclip2_mm.integrations`` (imported explicitly through ``custom_imports``).

The one deliberate side effect of the import: mmengine checkpoints become loadable on
torch >= 2.6 with ``weights_only=True`` and an explicit allow-list, and ``*.safetensors``
files load without pickle (see :mod:`fgclip2_mm.engine.checkpoint`). Any config that names
an ``fgclip2_mm.X`` type or lists ``fgclip2_mm`` in ``custom_imports`` gets it.
"""
from .engine.checkpoint import register_checkpoint_support
from .version import __version__

register_checkpoint_support()

__all__ = ['__version__']
