"""``FGCLIP2FromFolder``: a model config that loads a checkpoint folder.

``tools/test.py CONFIG FOLDER`` swaps the config's model for
``dict(type='fgclip2_mm.FGCLIP2FromFolder', path=FOLDER)``: the architecture comes from the
folder (our ``fgclip2_mm_config.json`` or the official ``config.json``), the weights are
loaded strictly from safetensors (as :func:`fgclip2_mm.apis.load_fgclip2` does).
"""
import os

from fgclip2_mm.registry import MODELS


@MODELS.register_module()
def FGCLIP2FromFolder(path: str, attn_impl: str = 'sdpa'):  # noqa: N802 (a registered name)
    """Build :class:`~fgclip2_mm.models.FGCLIP2` from a checkpoint folder.

    Args:
        path (str): Our folder (``fgclip2_mm_config.json`` + ``fgclip2_mm.safetensors``) or
            an official Hugging Face folder (``config.json`` + ``model.safetensors``).
        attn_impl (str): ``'sdpa'`` or ``'eager'``. Defaults to ``'sdpa'``.

    Returns:
        FGCLIP2: The model (eval mode, fp32, on the CPU; the runner moves it).
    """
    from ..vlms.build_from_folder import build_fgclip2_from_folder
    if not os.path.isdir(os.fspath(path)):
        raise FileNotFoundError(f'FGCLIP2FromFolder: checkpoint folder not found: {path!r}')
    return build_fgclip2_from_folder(os.fspath(path), attn_impl=attn_impl).eval()
