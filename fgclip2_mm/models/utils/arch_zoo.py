"""Named FG-CLIP 2 sizes and validation of custom architecture dicts.

An *arch dict* has two parts, ``vision`` (for :class:`FGCLIP2VisionTransformer`) and
``text`` (for :class:`FGCLIP2TextEncoder`). Sizes follow the SigLIP 2 family the released
checkpoints were converted from (spec §2). They are *inferred*, not read from the official
``config.json``; when a checkpoint folder is loaded, its ``config.json`` wins (see
:func:`fgclip2_mm.models.utils.ckpt_convert.hf_config_to_arch`).
"""
import copy
from typing import Dict, Union

VISION_REQUIRED = ('embed_dims', 'num_layers', 'num_heads', 'mlp_dims')
VISION_DEFAULTS = dict(
    patch_size=16,
    in_channels=3,
    num_patches=256,
    layer_norm_eps=1e-6,
    hidden_act='gelu_pytorch_tanh')
TEXT_REQUIRED = ('embed_dims', 'num_layers', 'num_heads', 'mlp_dims', 'vocab_size')
TEXT_DEFAULTS = dict(
    max_len=64,
    long_len=196,
    keep_len=20,
    proj_dims=None,
    layer_norm_eps=1e-6,
    hidden_act='gelu_pytorch_tanh')
HIDDEN_ACTS = ('gelu_pytorch_tanh', 'gelu')


def _tower(width: int, layers: int, heads: int, mlp: int) -> dict:
    return dict(embed_dims=width, num_layers=layers, num_heads=heads, mlp_dims=mlp)


def _arch(width: int,
          layers: int,
          heads: int,
          mlp: int,
          vocab: int,
          num_patches: int = 256) -> dict:
    return dict(
        vision=dict(_tower(width, layers, heads, mlp), num_patches=num_patches),
        text=dict(_tower(width, layers, heads, mlp), vocab_size=vocab))


ARCH_ZOO: Dict[str, dict] = {
    'base': _arch(768, 12, 12, 3072, 256000),
    'large': _arch(1024, 24, 16, 4096, 256000),
    'so400m': _arch(1152, 27, 16, 4304, 256000),
    # Test size: odd MLP width on purpose, real patch size (16) so preprocessing is real,
    # a 4x4 position grid so both up- and down-sampling of the table are exercised.
    'tiny': _arch(32, 2, 4, 37, 1024, num_patches=16),
}
# Smallest size that learns the synthetic world in the quick start's CPU budget
# (configs/fgclip2_stage2_synthetic.py): vocabulary of the world's tokenizer and 32 text
# positions (its texts have <= 39 tokens) stretched to 4 * 32 - 3 * 8 = 104 long positions.
ARCH_ZOO['small'] = _arch(64, 2, 4, 256, 1024)
ARCH_ZOO['small']['text'].update(max_len=32, long_len=104, keep_len=8)


def _complete(part: dict, name: str, required: tuple, defaults: dict) -> dict:
    if not isinstance(part, dict):
        raise TypeError(f'arch[{name!r}] must be a dict, got {type(part).__name__}')
    missing = [k for k in required if k not in part]
    if missing:
        raise ValueError(f'arch[{name!r}] is missing keys {missing}; required keys are '
                         f'{list(required)}, optional ones {sorted(defaults)}')
    unknown = sorted(set(part) - set(required) - set(defaults))
    if unknown:
        raise ValueError(f'arch[{name!r}] has unknown keys {unknown}; allowed keys are '
                         f'{list(required) + sorted(defaults)}')
    out = dict(copy.deepcopy(defaults), **copy.deepcopy(part))
    if out['embed_dims'] % out['num_heads']:
        raise ValueError(f'arch[{name!r}]: embed_dims={out["embed_dims"]} is not divisible by '
                         f'num_heads={out["num_heads"]}')
    if out['hidden_act'] not in HIDDEN_ACTS:
        raise ValueError(f'arch[{name!r}]: hidden_act={out["hidden_act"]!r} is not supported, '
                         f'expected one of {HIDDEN_ACTS}')
    return out


def vision_arch(arch: Union[str, dict]) -> dict:
    """Complete vision-tower settings.

    Args:
        arch (str | dict): A name of :data:`ARCH_ZOO`, a full arch dict (its ``vision``
            part is used) or a vision dict with keys ``embed_dims, num_layers, num_heads,
            mlp_dims`` and optionally ``patch_size, in_channels, num_patches,
            layer_norm_eps, hidden_act``.

    Returns:
        dict: A new dict with every key set.
    """
    part = get_arch(arch)['vision'] if isinstance(arch, str) else arch
    if isinstance(part, dict) and 'vision' in part:
        part = part['vision']
    out = _complete(part, 'vision', VISION_REQUIRED, VISION_DEFAULTS)
    side = int(round(out['num_patches']**0.5))
    if side * side != out['num_patches']:
        raise ValueError(f'arch["vision"]: num_patches={out["num_patches"]} is not a square '
                         f'(the position table is a square grid)')
    return out


def text_arch(arch: Union[str, dict]) -> dict:
    """Complete text-tower settings (same conventions as :func:`vision_arch`; text keys
    ``embed_dims, num_layers, num_heads, mlp_dims, vocab_size`` and optionally ``max_len,
    long_len, keep_len, proj_dims, layer_norm_eps, hidden_act``)."""
    part = get_arch(arch)['text'] if isinstance(arch, str) else arch
    if isinstance(part, dict) and 'text' in part:
        part = part['text']
    out = _complete(part, 'text', TEXT_REQUIRED, TEXT_DEFAULTS)
    if out['proj_dims'] is None:
        out['proj_dims'] = out['embed_dims']
    if not 0 <= out['keep_len'] <= min(out['max_len'], out['long_len']):
        raise ValueError(f'arch["text"]: keep_len={out["keep_len"]} must lie in '
                         f'[0, min(max_len, long_len)]')
    return out


def get_arch(arch: Union[str, dict]) -> dict:
    """Return a complete arch dict ``dict(vision=..., text=...)`` (a new object).

    Args:
        arch (str | dict): One of ``'base'``, ``'large'``, ``'so400m'``, ``'small'``, ``'tiny'``,
            or a dict with ``vision`` and ``text`` parts.

    Raises:
        ValueError: Unknown name (the message lists the choices) or missing keys.
    """
    if isinstance(arch, str):
        if arch not in ARCH_ZOO:
            raise ValueError(f'unknown arch {arch!r}, expected one of {tuple(ARCH_ZOO)} '
                             'or a dict with "vision" and "text" parts')
        arch = ARCH_ZOO[arch]
    if not isinstance(arch, dict) or set(arch) != {'vision', 'text'}:
        keys = sorted(arch) if isinstance(arch, dict) else type(arch).__name__
        raise ValueError(f'an arch dict needs exactly the keys ["text", "vision"], got {keys}')
    return dict(vision=vision_arch(arch['vision']), text=text_arch(arch['text']))
