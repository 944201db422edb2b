"""fgclip2_mm.testing.spawn_and_join: a multi-process test that hangs fails with the hung
ranks named instead of stalling the suite."""
import time

import pytest

from fgclip2_mm.testing import spawn_and_join


def _rank1_hangs(rank):
    if rank == 1:
        time.sleep(600)


@pytest.mark.dist
def test_a_hung_rank_is_killed_and_named():
    start = time.monotonic()
    # rank 0 returns at once; on a loaded machine it may still be starting after 10 s
    with pytest.raises(TimeoutError, match=r'_rank1_hangs: ranks \[(0, )?1\] of 2 still '
                       r'running after 10 s \(killed\)'):
        spawn_and_join(_rank1_hangs, (), 2, timeout=10)
    assert time.monotonic() - start < 90
