"""Build plugin-owned sub-modules in the ``fgclip2_mm`` scope, whatever the host is.

mmengine's ``Registry.build`` first switches to the registry of the *current default
scope*. Inside an mmdet or mmseg run that is the host, so a bare type name such as
``'FGCLIP2TextEncoder'`` would be looked up in mmdet's registry and not be found. Every
place where our code builds one of its own sub-configs goes through :func:`build_owned`,
which pins ``_scope_='fgclip2_mm'`` on a copy of the config (the caller's dict is never
mutated).
"""
import copy
from contextlib import contextmanager
from typing import Any, Iterator, Optional

from mmengine.registry import DefaultScope, Registry

from ..registry import SCOPE


def build_owned(cfg: Optional[dict], registry: Registry, **default_args: Any) -> Any:
    """Build ``cfg`` with ``registry`` in the ``fgclip2_mm`` scope.

    Args:
        cfg (dict | None): The config. ``None`` passes through; an already built object
            (not a dict) is returned unchanged so modules can accept either.
        registry (Registry): One of the registries of :mod:`fgclip2_mm.registry`.
        **default_args: Forwarded to ``registry.build``.

    Returns:
        The built object, or ``cfg`` itself when it is ``None`` or not a dict.
    """
    if cfg is None or not isinstance(cfg, dict):
        return cfg
    cfg = copy.deepcopy(cfg)
    cfg.setdefault('_scope_', SCOPE)
    return registry.build(cfg, default_args=default_args or None)


@contextmanager
def owned_scope() -> Iterator[None]:
    """Temporarily make ``fgclip2_mm`` the default scope (for code that builds many
    sub-modules, or calls mmengine helpers that resolve names in the default scope)."""
    with DefaultScope.overwrite_default_scope(SCOPE):
        yield
