"""Small helpers of the mmdet glue: host-scope building and vocabulary strings."""
import copy
import re
from contextlib import contextmanager
from typing import Iterator, List, Sequence, Union

from mmengine.registry import DefaultScope, Registry

from fgclip2_mm.text import contains_cjk  # noqa: F401  (the package's one CJK test)

HOST_SCOPE = 'mmdet'


@contextmanager
def host_scope() -> Iterator[None]:
    """Make ``mmdet`` the default scope for the duration of the block.

    mmdet's base classes build their own sub-modules (RPN, RoI extractors, losses,
    assigners) with bare type names resolved in the *current* default scope; our subclasses
    run those constructors inside this block, so they work whatever scope the caller is in
    (our own sub-configs are built with :func:`fgclip2_mm.utils.build.build_owned`).
    """
    with DefaultScope.overwrite_default_scope(HOST_SCOPE):
        yield


def build_host(cfg: dict, registry: Registry, **default_args):
    """Build an mmdet-owned sub-config (a copy of ``cfg``) in the ``mmdet`` scope."""
    cfg = copy.deepcopy(cfg)
    cfg.setdefault('_scope_', HOST_SCOPE)
    return registry.build(cfg, default_args=default_args or None)


def parse_vocabulary(texts: Union[str, Sequence[str]]) -> List[str]:
    """Class names from a ``'red circle . 蓝色的正方形'`` string or a list of names.

    The string form splits on ``'.'`` and on the Chinese full stop ``'。'`` (the convention
    of mmdet's ``DetInferencer(texts=...)``); blanks around names are stripped.

    Raises:
        ValueError: No name, an empty name in a list, or a name given twice.
    """
    if isinstance(texts, str):
        names = [n.strip() for n in re.split('[.\u3002]', texts)]
        names = [n for n in names if n]
    elif isinstance(texts, (list, tuple)):
        names = []
        for i, name in enumerate(texts):
            if not isinstance(name, str) or not name.strip():
                raise ValueError(f'vocabulary entry {i} must be a non-empty string, got '
                                 f'{name!r}')
            names.append(name.strip())
    else:
        raise ValueError(f'texts must be a string like "cat . 狗" or a list of class names, '
                         f'got {type(texts).__name__}')
    if not names:
        raise ValueError(f'no class name in texts={texts!r}; separate names with " . "')
    seen = set()
    for name in names:
        if name in seen:
            raise ValueError(f'class name {name!r} appears twice in the vocabulary')
        seen.add(name)
    return names
