"""Counters of load-time problems, shared by the dataloader workers of one dataset.

Dataloader workers are separate processes, so a plain Python counter in a worker is lost
to the main process. :class:`LoadCounts` keeps the counts in a small torch tensor in
shared memory (one row per worker, so workers never write the same cell; row 0 holds the
"already warned" flags), which survives fork and spawn start methods and pickles as a
handle. The main process reads the totals and logs them (:meth:`LoadCounts.log_summary`,
called by :class:`~fgclip2_mm.datasets.samplers.FGCLIP2BilingualBatchSampler` once per
epoch, or by anyone who wants a summary).
"""
from typing import Dict, Optional

import numpy as np
import torch
from mmengine.logging import print_log
from torch.utils.data import get_worker_info

from .record_validation import PROBLEM_REASONS

WORKER_ROWS = 64  # worker ids beyond this share rows (a rare lost increment, no error)


class LoadCounts:
    """Problem counts per reason, summed over the processes that load samples.

    Args:
        owner (str): Prefix of the messages (the dataset's name).
    """

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._table = torch.zeros((WORKER_ROWS + 1, len(PROBLEM_REASONS)),
                                  dtype=torch.int64).share_memory_()
        self._logged = np.zeros(len(PROBLEM_REASONS), dtype=np.int64)

    def add(self, reason: str, where: str, detail: str, action: str) -> None:
        """Count one problem; the first one of each reason (across workers) is warned.

        Args:
            reason (str): One of :data:`PROBLEM_REASONS`.
            where (str): File and record.
            detail (str): What went wrong.
            action (str): What the dataset did about it (for the message).
        """
        if reason not in PROBLEM_REASONS:
            raise ValueError(f'unknown reason {reason!r}; expected one of {PROBLEM_REASONS}')
        col = PROBLEM_REASONS.index(reason)
        info = get_worker_info()
        row = 1 + (0 if info is None else (info.id + 1) % WORKER_ROWS)
        self._table[row, col] += 1
        if int(self._table[0, col]) == 0:  # racy across workers: at most one per worker
            self._table[0, col] = 1
            print_log(f'{self.owner}: {reason} at {where}: {detail}; {action} (further cases '
                      'are counted and summarised once per epoch)', logger='current', level=30)

    def totals(self) -> Dict[str, int]:
        """dict: Non-zero totals per reason since the dataset was built."""
        sums = self._table[1:].sum(0).numpy()
        return {r: int(c) for r, c in zip(PROBLEM_REASONS, sums) if c}

    def log_summary(self, epoch: Optional[int] = None) -> Dict[str, int]:
        """Log (once) the problems counted since the previous call and return them.

        Args:
            epoch (int, optional): Named in the message.

        Returns:
            dict: Non-zero counts per reason since the previous call.
        """
        sums = self._table[1:].sum(0).numpy()
        delta = sums - self._logged
        self._logged = sums.copy()
        new = {r: int(c) for r, c in zip(PROBLEM_REASONS, delta) if c}
        when = '' if epoch is None else f' in epoch {epoch}'
        text = ', '.join(f'{r}={c}' for r, c in new.items()) or 'none'
        print_log(f'{self.owner}: load-time problems{when}: {text} (total since start: '
                  f'{sum(int(c) for c in sums)})', logger='current', level=30 if new else 20)
        return new
