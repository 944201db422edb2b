"""Cross-package config bases (``mmdet::``, ``mmseg::``) without ``pkg_resources``.

mmengine 0.10.7 resolves ``_base_ = 'mmdet::...'`` with ``is_installed`` and
``get_installed_path`` from ``mmengine.utils.package_utils``, which import
``pkg_resources``; setuptools >= 82 no longer ships it, so every config inheriting a host
base fails with ``ModuleNotFoundError: No module named 'pkg_resources'``.
:func:`register_package_lookup_support` (called by ``import fgclip2_mm``) replaces the two
functions, in mmengine's modules that use them, with ``importlib`` equivalents, and only
when ``pkg_resources`` is missing (otherwise mmengine is left alone).
"""
import importlib.metadata
import importlib.util
import os.path as osp


def _module_spec(package: str):
    spec = importlib.util.find_spec(package)
    if spec is None:  # a distribution name whose module differs (mmsegmentation -> mmseg)
        try:
            top = importlib.metadata.distribution(package).read_text('top_level.txt') or ''
        except importlib.metadata.PackageNotFoundError:
            return None
        names = top.split()
        spec = importlib.util.find_spec(names[0]) if names else None
    return spec


def is_installed(package: str) -> bool:
    """Whether ``package`` (a distribution or a module name) can be imported."""
    spec = _module_spec(package)
    return spec is not None and spec.origin is not None


def get_installed_path(package: str) -> str:
    """Folder of the installed package (what mmengine's version returns)."""
    spec = _module_spec(package)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f'package {package!r} is not installed (or is a namespace '
                                  'package)')
    return osp.dirname(spec.origin)


def register_package_lookup_support() -> bool:
    """Patch mmengine's package lookups when ``pkg_resources`` is missing.

    Returns:
        bool: True when the lookups were replaced.
    """
    if importlib.util.find_spec('pkg_resources') is not None:
        return False  # looked up, not imported: importing it warns that it is deprecated
    import mmengine.config.config as config_module
    import mmengine.utils as utils_module
    import mmengine.utils.package_utils as package_utils
    for module in (package_utils, utils_module, config_module):
        module.is_installed = is_installed
        module.get_installed_path = get_installed_path
    return True
