"""Reading and validating a checkpoint folder's model config file, with the path in every
error.

Both layouts are understood: an official ``config.json`` (``model_type`` ``fgclip2`` or
``siglip2``, sizes in ``vision_config`` / ``text_config``) and our
``fgclip2_mm_config.json`` (``{"format": "fgclip2_mm", "model": {"arch": ...}}``). The
sizes are validated by the arch checks (integers within sane bounds, heads dividing the
width, see :func:`~fgclip2_mm.models.utils.arch_zoo.vision_arch`) before any model is
built, so a garbled file fails here, naming the file and the key, instead of hanging on
a huge allocation or crashing at the first forward.
"""
import json
import os
from typing import Tuple

from .arch_zoo import get_arch
from .ckpt_convert import hf_config_to_arch

HF_MODEL_TYPES = ('fgclip2', 'siglip2')
OUR_FORMAT = 'fgclip2_mm'
LAYOUTS = ('hf', 'mm')


def read_model_config(path: str, layout: str) -> Tuple[dict, dict]:
    """Read and validate one model config file.

    Args:
        path (str): The file.
        layout (str): ``'hf'`` for an official ``config.json``, ``'mm'`` for our
            ``fgclip2_mm_config.json``.

    Returns:
        tuple: ``(config, arch)``: the parsed JSON object (unchanged) and the complete
        arch dict it describes.

    Raises:
        ValueError: Empty file, invalid JSON or UTF-8, not an object, a wrong
            ``model_type`` / ``format``, or an invalid size; the message starts with the
            path and names the key.
    """
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
    path = os.fspath(path)
    with open(path, 'rb') as f:
        data = f.read()
    if not data.strip():
        raise ValueError(f'{path}: the file is empty (expected a JSON object with the model '
                         'configuration)')
    try:
        config = json.loads(data.decode('utf-8'))
    except UnicodeDecodeError as err:
        raise ValueError(f'{path}: not UTF-8 text: {err}') from None
    except ValueError as err:
        raise ValueError(f'{path}: not valid JSON: {err}') from None
    except RecursionError:
        raise ValueError(f'{path}: JSON nested too deeply to be a model config') from None
    if not isinstance(config, dict):
        raise ValueError(f'{path}: must hold a JSON object, got {type(config).__name__}')
    try:
        if layout == 'mm':
            if config['format'] != OUR_FORMAT or not isinstance(config.get('model'), dict):
                raise ValueError(f'not an {OUR_FORMAT} config (needs "format": '
                                 f'"{OUR_FORMAT}" and a "model" dict)')
            arch = get_arch(config['model'].get('arch', 'base'))
        else:
            if config.get('model_type') not in HF_MODEL_TYPES:
                raise ValueError(f'model_type={config.get("model_type")!r}, expected one of '
                                 f'{HF_MODEL_TYPES}')
            arch = hf_config_to_arch(config)
    except (ValueError, TypeError) as err:
        raise ValueError(f'{path}: {err}') from None
    return config, arch
