"""Named FG-CLIP 2 sizes and validation of custom architecture dicts.

An *arch dict* has two parts, ``vision`` (for :class:`FGCLIP2VisionTransformer`) and
``text`` (for :class:`FGCLIP2TextEncoder`). Sizes follow the SigLIP 2 family the released
checkpoints were converted from (spec §2). They are *inferred*, not read from the official
``config.json``; when a checkpoint folder is loaded, its ``config.json`` wins (see
:func:`fgclip2_mm.models.utils.ckpt_convert.hf_config_to_arch`).
"""
import copy
from typing import Callable, Dict, Optional, Union

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
#: ``key: (smallest, largest)`` of every integer arch setting. The upper bounds are far
#: above any SigLIP 2 / FG-CLIP 2 size (so400m: 1152 wide, 27 layers, 16 heads, vocabulary
#: 256000) and stop a garbled config from hanging on a huge allocation.
INT_BOUNDS = dict(
    embed_dims=(1, 16384),
    num_layers=(1, 256),
    num_heads=(1, 1024),
    mlp_dims=(1, 131072),
    vocab_size=(1, 1 << 22),
    patch_size=(1, 1024),
    in_channels=(1, 64),
    num_patches=(1, 1 << 20),
    max_len=(1, 1 << 16),
    long_len=(1, 1 << 16),
    keep_len=(0, 1 << 16),
    proj_dims=(1, 16384))
#: Largest parameter count of a tower (so400m's is ~0.4 B).
MAX_TOWER_PARAMETERS = 20_000_000_000


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


def _check_values(out: dict, label: Callable[[str], str]) -> None:
    """Types and bounds of a completed tower dict; ``label(key)`` names a key in messages
    (``arch['vision'].embed_dims``, or ``vision_config.hidden_size`` for a config.json)."""
    for key, (low, high) in INT_BOUNDS.items():
        if key not in out or (key == 'proj_dims' and out[key] is None):
            continue
        value = out[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f'{label(key)}={value!r} must be an integer, got '
                             f'{type(value).__name__}')
        if not low <= value <= high:
            raise ValueError(f'{label(key)}={value} is out of range: expected an integer in '
                             f'[{low}, {high}]')
    eps = out['layer_norm_eps']
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < 1:
        raise ValueError(f'{label("layer_norm_eps")}={eps!r} must be a number in (0, 1)')
    if out['embed_dims'] % out['num_heads']:
        raise ValueError(f'{label("embed_dims")}={out["embed_dims"]} is not divisible by '
                         f'{label("num_heads")}={out["num_heads"]}')
    if out['hidden_act'] not in HIDDEN_ACTS:
        raise ValueError(f'{label("hidden_act")}={out["hidden_act"]!r} is not supported, '
                         f'expected one of {HIDDEN_ACTS}')
    width = out['embed_dims']
    params = out['num_layers'] * (4 * width * width + 2 * width * out['mlp_dims']) + width * (
        out.get('vocab_size', 0) + out.get('num_patches', 0) + out.get('max_len', 0))
    if params > MAX_TOWER_PARAMETERS:
        raise ValueError(f'{label("embed_dims")}={width}, {label("num_layers")}='
                         f'{out["num_layers"]}, {label("mlp_dims")}={out["mlp_dims"]}: about '
                         f'{params / 1e9:.0f} B parameters, more than the '
                         f'{MAX_TOWER_PARAMETERS / 1e9:.0f} B a tower may have')


def _complete(part: dict, name: str, required: tuple, defaults: dict,
              names: Optional[Dict[str, str]] = None) -> dict:
    if not isinstance(part, dict):
        raise TypeError(f'arch[{name!r}] must be a dict, got {type(part).__name__}')
    missing = [k for k in required if k not in part]
    if missing:
        shown = [(names or {}).get(k, k) for k in missing]
        raise ValueError(f'arch[{name!r}] is missing keys {shown}; required keys are '
                         f'{list(required)}, optional ones {sorted(defaults)}')
    unknown = sorted(set(part) - set(required) - set(defaults))
    if unknown:
        raise ValueError(f'arch[{name!r}] has unknown keys {unknown}; allowed keys are '
                         f'{list(required) + sorted(defaults)}')
    out = dict(copy.deepcopy(defaults), **copy.deepcopy(part))
    _check_values(out, lambda key: (names or {}).get(key, f'arch[{name!r}].{key}'))
    return out


def vision_arch(arch: Union[str, dict], names: Optional[Dict[str, str]] = None) -> dict:
    """Complete vision-tower settings.

    Args:
        arch (str | dict): A name of :data:`ARCH_ZOO`, a full arch dict (its ``vision``
            part is used) or a vision dict with keys ``embed_dims, num_layers, num_heads,
            mlp_dims`` and optionally ``patch_size, in_channels, num_patches,
            layer_norm_eps, hidden_act``.
        names (dict, optional): How messages name each key (e.g. ``{'embed_dims':
            'vision_config.hidden_size'}`` for a config.json); default ``arch['vision']...``.

    Returns:
        dict: A new dict with every key set.

    Raises:
        ValueError: A missing or unknown key, a non-integer or out-of-range size (see
            :data:`INT_BOUNDS`), ``embed_dims`` not divisible by ``num_heads``, an
            unsupported activation or a non-square ``num_patches``.
    """
    part = get_arch(arch)['vision'] if isinstance(arch, str) else arch
    if isinstance(part, dict) and 'vision' in part:
        part = part['vision']
    out = _complete(part, 'vision', VISION_REQUIRED, VISION_DEFAULTS, names)
    side = int(round(out['num_patches']**0.5))
    if side * side != out['num_patches']:
        label = (names or {}).get('num_patches', 'arch["vision"].num_patches')
        raise ValueError(f'{label}={out["num_patches"]} is not a square (the position table '
                         'is a square grid)')
    return out


def text_arch(arch: Union[str, dict], names: Optional[Dict[str, str]] = None) -> dict:
    """Complete text-tower settings (same conventions and checks as :func:`vision_arch`;
    text keys ``embed_dims, num_layers, num_heads, mlp_dims, vocab_size`` and optionally
    ``max_len, long_len, keep_len, proj_dims, layer_norm_eps, hidden_act``)."""
    part = get_arch(arch)['text'] if isinstance(arch, str) else arch
    if isinstance(part, dict) and 'text' in part:
        part = part['text']
    out = _complete(part, 'text', TEXT_REQUIRED, TEXT_DEFAULTS, names)
    if out['proj_dims'] is None:
        out['proj_dims'] = out['embed_dims']
    if not 0 <= out['keep_len'] <= min(out['max_len'], out['long_len']):
        label = (names or {}).get('keep_len', 'arch["text"].keep_len')
        raise ValueError(f'{label}={out["keep_len"]} must lie in [0, min(max_len, '
                         f'long_len)] = [0, {min(out["max_len"], out["long_len"])}]')
    return out


def get_arch(arch: Union[str, dict], names: Optional[Dict[str, Dict[str, str]]] = None) -> dict:
    """Return a complete arch dict ``dict(vision=..., text=...)`` (a new object).

    Args:
        arch (str | dict): One of ``'base'``, ``'large'``, ``'so400m'``, ``'small'``, ``'tiny'``,
            or a dict with ``vision`` and ``text`` parts.
        names (dict, optional): ``{'vision': {key: name}, 'text': {...}}``: how messages
            name the keys (see :func:`vision_arch`).

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
    names = names or {}
    return dict(vision=vision_arch(arch['vision'], names.get('vision')),
                text=text_arch(arch['text'], names.get('text')))
