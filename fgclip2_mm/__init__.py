"""fgclip2_mm: FG-CLIP 2 as an OpenMMLab plugin.

Importing the package never imports mmdet or mmseg: modules register lazily through the
``locations`` of :mod:`fgclip2_mm.registry`, and host glue lives in
``fgclip2_mm.integrations`` (imported explicitly through ``custom_imports``).

The deliberate side effects of the import: mmengine checkpoints become loadable on
torch >= 2.6 with ``weights_only=True`` and an explicit allow-list, and ``*.safetensors``
files load without pickle (see :mod:`fgclip2_mm.engine.checkpoint`). Any config that names
an ``fgclip2_mm.X`` type or lists ``fgclip2_mm`` in ``custom_imports`` gets it. Where
setuptools no longer ships ``pkg_resources``, mmengine's package lookups are replaced so
``mmdet::`` / ``mmseg::`` config bases resolve (see :mod:`fgclip2_mm.utils.package_compat`;
import ``fgclip2_mm`` before ``Config.fromfile``, as ``tools/train.py`` does). On a machine
without CUDA, mmengine's ``--launcher pytorch`` initialises a gloo process group instead of
calling ``torch.cuda.set_device`` (see :mod:`fgclip2_mm.engine.dist_compat`).
"""
import importlib.util

from .version import __version__

# The ONNX runtime (fgclip2_mm.deployment) runs where torch and mmengine are not installed;
# everything else needs them.
if all(importlib.util.find_spec(name) is not None for name in ('torch', 'mmengine')):
    from .engine.checkpoint import register_checkpoint_support
    from .engine.dist_compat import register_cpu_dist_support
    from .utils.package_compat import register_package_lookup_support

    register_checkpoint_support()
    register_package_lookup_support()
    register_cpu_dist_support()

__all__ = ['__version__']
