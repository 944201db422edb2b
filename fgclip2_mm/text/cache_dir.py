"""Where vocabulary (text) embeddings are cached by default, read at call time."""
import os
import os.path as osp

#: Environment variable: the cache root (embeddings go to ``$FGCLIP2_MM_CACHE/text_embeddings``).
CACHE_ENV = 'FGCLIP2_MM_CACHE'


def default_cache_dir() -> str:
    """``$FGCLIP2_MM_CACHE/text_embeddings``, else ``~/.cache/fgclip2_mm/text_embeddings``
    (the environment is read on every call)."""
    root = os.environ.get(CACHE_ENV) or osp.join(osp.expanduser('~'), '.cache', 'fgclip2_mm')
    return osp.join(root, 'text_embeddings')
