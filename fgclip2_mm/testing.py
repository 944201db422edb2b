"""Test helpers shared by the integrations (like ``mmdet.testing``): a tiny FG-CLIP 2
checkpoint folder, a small synthetic world per process, and tools/ scripts as modules.
Nothing is downloaded."""
import importlib.util
import os.path as osp
import shutil
from types import ModuleType
from typing import Dict, Optional

import torch

TOKENIZER_FILES = ('tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json')
_WORLDS: Dict[str, str] = {}


def write_tiny_checkpoint(folder: str, tokenizer_dir: str, seed: int = 0) -> str:
    """Save a random ``FGCLIP2(arch='tiny')`` (our folder layout) with the tokenizer files.

    Args:
        folder (str): Output folder (created).
        tokenizer_dir (str): A tokenizer folder whose vocabulary fits the tiny arch (1024
            ids), e.g. a synthetic world's ``tokenizer/``.
        seed (int): Weight seed. Defaults to 0.

    Returns:
        str: ``folder``.
    """
    from fgclip2_mm.apis import save_fgclip2
    from fgclip2_mm.models import FGCLIP2
    torch.manual_seed(seed)
    save_fgclip2(FGCLIP2(arch='tiny'), folder)
    for name in TOKENIZER_FILES:
        if osp.isfile(osp.join(tokenizer_dir, name)):
            shutil.copyfile(osp.join(tokenizer_dir, name), osp.join(folder, name))
    return folder


def synthetic_world(root: str, num_train: int = 24, num_val: int = 16, seed: int = 0) -> str:
    """Generate a small synthetic world under ``root`` once per process and return its
    folder (later calls with the same arguments, or a world already on disk, are reused)."""
    from fgclip2_mm.synthetic_world import generate_world
    key = f'{root}|{num_train}|{num_val}|{seed}'
    if key not in _WORLDS:
        out = osp.join(root, f'world_{num_train}_{num_val}_{seed}')
        if not osp.isfile(osp.join(out, 'world_meta.json')):
            generate_world(out, seed=seed, num_train=num_train, num_val=num_val, workers=1)
        _WORLDS[key] = out
    return _WORLDS[key]


def load_script(path: str, name: Optional[str] = None) -> ModuleType:
    """Import a script of ``tools/`` (not a package) as a module, to call its ``main`` or
    helpers in-process. ``name`` defaults to the file name without ``.py``."""
    name = name or osp.splitext(osp.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def spawn_and_join(fn, args: tuple, nprocs: int, timeout: float = 240.0) -> None:
    """``torch.multiprocessing.spawn(fn, args, nprocs)`` that cannot hang a test run: the
    processes are joined for at most ``timeout`` seconds, then terminated.

    Raises:
        TimeoutError: The processes did not all finish in time (``fn`` and the live ranks
            named).
        torch.multiprocessing.ProcessRaisedException / ProcessExitedException: A rank
            failed (as ``spawn(join=True)``).
    """
    import time

    import torch.multiprocessing as mp
    context = mp.spawn(fn, args=args, nprocs=nprocs, join=False)
    deadline = time.monotonic() + timeout
    while not context.join(timeout=1.0):
        if time.monotonic() > deadline:
            alive = [rank for rank, p in enumerate(context.processes) if p.is_alive()]
            for process in context.processes:
                if process.is_alive():
                    process.kill()
            for process in context.processes:
                process.join(5)
            raise TimeoutError(f'{getattr(fn, "__qualname__", fn)}: ranks {alive} of {nprocs} '
                               f'still running after {timeout:.0f} s (killed)')
