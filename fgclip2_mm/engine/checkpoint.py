"""Safe checkpoint loading for mmengine 0.10.7 on torch >= 2.6.

torch >= 2.6 defaults ``torch.load`` to ``weights_only=True``. mmengine 0.10.7 calls
``torch.load`` without the argument and its training checkpoints pickle a few non-tensor
types (``HistoryBuffer`` of the message hub, numpy arrays and scalars), so ``resume`` and
``load_from`` fail with ``UnpicklingError: Weights only load failed``.

Instead of disabling the safety check for everyone (``weights_only=False`` would execute
arbitrary pickled code), we:

* extend torch's weights-only allow-list with exactly the types mmengine stores
  (:data:`MMENGINE_CHECKPOINT_GLOBALS`). ``HistoryBuffer`` pickles its statistics methods as
  ``getattr(HistoryBuffer, 'mean')``; ``builtins.getattr`` itself would allow escaping the
  sandbox, so the pickled name is bound to :func:`_history_buffer_getattr`, which only
  returns HistoryBuffer's statistics methods;
* replace mmengine's local-file checkpoint loader with :func:`load_checkpoint_file`, which
  loads ``.safetensors`` files without pickle at all, every other file with
  ``weights_only=True``, and a checkpoint *folder* (ours, official FG-CLIP 2, SigLIP 2
  NaFlex) through :func:`~fgclip2_mm.models.utils.checkpoint_folder.load_checkpoint_folder`,
  so ``init_cfg=dict(type='Pretrained', checkpoint=FOLDER)`` and ``load_from=FOLDER`` work.

Both happen once, on ``import fgclip2_mm`` (see :func:`register_checkpoint_support`), so a
``custom_imports`` entry or a ``fgclip2_mm.X`` type in any config is enough.

torch's own opt-out is honoured: with ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` a trusted legacy
pickle (one holding types outside the allow-list) loads as plain ``torch.load`` would load it,
with torch's warning; ``TORCH_FORCE_WEIGHTS_ONLY_LOAD`` and setting both behave as in torch.
"""
import os
import pickle
from typing import Callable, Dict, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

SafeGlobal = Union[Callable, Tuple[Callable, str]]

_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')
#: The values torch accepts as "set" for its ``TORCH_FORCE_*_WEIGHTS_ONLY_LOAD`` variables.
_TORCH_TRUE_VALUES = ('1', 'y', 'yes', 'true')
_NUMPY_DTYPES = ('bool', 'uint8', 'int8', 'int16', 'int32', 'int64', 'float16', 'float32',
                 'float64')


def _history_buffer_getattr(obj: object, name: str) -> Callable:
    """Stand-in for ``builtins.getattr`` during weights-only unpickling.

    Only resolves ``HistoryBuffer.<statistics method>``; anything else is refused.
    """
    allowed = set(_HISTORY_BUFFER_STATISTICS) | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({obj!r}, {name!r}) while loading a checkpoint: only '
        f'HistoryBuffer statistics methods {sorted(allowed)} are allowed')


def _numpy_globals() -> List[SafeGlobal]:
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    module = multiarray.__name__
    safe: List[SafeGlobal] = [
        np.ndarray,
        np.dtype,
        (multiarray._reconstruct, f'{module}._reconstruct'),
        (multiarray.scalar, f'{module}.scalar'),
    ]
    safe += [type(np.dtype(name)) for name in _NUMPY_DTYPES]
    return safe


def mmengine_checkpoint_globals() -> List[SafeGlobal]:
    """The allow-list: every non-tensor type an mmengine 0.10 training checkpoint holds."""
    return [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')] + _numpy_globals()


def _weights_only_kwargs() -> Dict[str, bool]:
    """``weights_only=True``, unless the user set torch's own opt-out.

    With ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` set, the argument is left out so that
    ``torch.load`` applies the variable itself (it only overrides an unset argument), exactly
    as for a plain ``torch.load`` call.
    """
    opt_out = os.getenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '0').lower() in _TORCH_TRUE_VALUES
    return {} if opt_out else dict(weights_only=True)


def load_checkpoint_file(filename: str,
                         map_location: Optional[Union[str, torch.device]] = None) -> Dict:
    """Load a checkpoint without executing arbitrary pickled code (unless torch's opt-out
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` is set).

    Args:
        filename (str): ``*.safetensors`` (released/converted weights: no pickle at all), a
            checkpoint folder (safetensors inside, any layout of
            :mod:`fgclip2_mm.models.utils.checkpoint_folder`) or a torch checkpoint written
            by mmengine (loaded with ``weights_only=True`` and the allow-list of
            :func:`mmengine_checkpoint_globals`; with ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``
            as plain ``torch.load`` loads it).
        map_location (str | torch.device, optional): Same as :func:`torch.load`.

    Returns:
        dict: The checkpoint (for safetensors: the flat state dict; for a folder:
        ``{'state_dict': ..., 'meta': ...}`` with our keys).
    """
    device = 'cpu' if map_location is None or callable(map_location) else str(map_location)
    if os.path.isdir(filename):
        from fgclip2_mm.models.utils.checkpoint_folder import load_checkpoint_folder
        return load_checkpoint_folder(filename, device=device)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'checkpoint file not found: {filename}')
    if filename.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(filename, device=device)
    try:
        return torch.load(filename, map_location=map_location, **_weights_only_kwargs())
    except pickle.UnpicklingError as err:
        raise pickle.UnpicklingError(
            f'{filename} holds objects outside the weights-only allow-list of fgclip2_mm. '
            'If you trust the file, extend the list with '
            'torch.serialization.add_safe_globals([...]) naming the type reported below, or '
            'set TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 (full pickle: executes code stored in '
            f'the file); never do either for an untrusted checkpoint.\n{err}') from err


def load_from_local(filename: str, map_location=None) -> Dict:
    """mmengine ``CheckpointLoader`` backend for local paths (the name keeps mmengine's log
    line "Loads checkpoint by local backend")."""
    return load_checkpoint_file(os.path.expanduser(filename), map_location)


_registered = False


def register_checkpoint_support() -> None:
    """Register the allow-list and the local loader with torch and mmengine (idempotent)."""
    global _registered
    if _registered:
        return
    torch.serialization.add_safe_globals(mmengine_checkpoint_globals())
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
    _registered = True
