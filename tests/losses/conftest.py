"""A small multi-process harness: ``torch.multiprocessing.spawn`` + gloo on CPU.

mmengine's ``MultiProcessTestCase`` is private, so the loss tests use this instead. The
worker function must be a module-level function ``fn(rank, world_size, *args)``; its
return value (anything ``torch.save`` can store) comes back to the parent, per rank.
"""
import datetime
import os

import pytest
import torch
import torch.distributed as dist

from fgclip2_mm.testing import spawn_and_join


def _entry(rank: int, fn, world_size: int, folder: str, args: tuple) -> None:
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{folder}/store', rank=rank,
                            world_size=world_size, timeout=datetime.timedelta(seconds=60))
    try:
        torch.save(fn(rank, world_size, *args), os.path.join(folder, f'rank{rank}.pt'))
        dist.barrier()  # no rank tears gloo down while the other still has work in flight
    finally:
        dist.destroy_process_group()


@pytest.fixture
def run_dist(tmp_path):
    """``run_dist(fn, world_size, *args) -> [result of rank 0, ..., rank W-1]``."""
    def run(fn, world_size: int, *args) -> list:
        folder = tmp_path / f'run{len(list(tmp_path.iterdir()))}'
        folder.mkdir()
        spawn_and_join(_entry, (fn, world_size, str(folder), args), world_size)
        return [torch.load(folder / f'rank{r}.pt') for r in range(world_size)]

    return run
