"""Interrupt a tiny run, resume it: same loss curve and final weights as an uninterrupted
run with the same seed (IterBasedTrainLoop replays the sampler to the saved step)."""
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

from .helpers import synthetic_cfg


class _Interrupted(Exception):
    pass


class _RecordAndStop(Hook):
    """Record the loss of every iteration; raise after ``stop_at`` iterations."""
    priority = 'LOWEST'  # after the checkpoint hook

    def __init__(self, store, stop_at=None):
        self.store, self.stop_at = store, stop_at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.store.append((runner.iter + 1, float(outputs['loss'])))
        if self.stop_at is not None and runner.iter + 1 == self.stop_at:
            raise _Interrupted()


def _run(cfg, store, stop_at=None, resume=False):
    cfg = cfg.copy()
    cfg.resume = resume
    runner = Runner.from_cfg(cfg)
    runner.register_hook(_RecordAndStop(store, stop_at))
    try:
        runner.train()
    except _Interrupted:
        pass
    return runner


def test_resume_reproduces_the_uninterrupted_run(small_world, tmp_path):
    full, first, second = [], [], []
    runner = _run(synthetic_cfg(small_world, tmp_path / 'full', max_iters=6), full)
    reference = {k: v.clone() for k, v in runner.model.state_dict().items()}
    cfg = synthetic_cfg(small_world, tmp_path / 'parts', max_iters=6)
    _run(cfg, first, stop_at=3)  # checkpoints at 2; interrupted after 3
    assert (tmp_path / 'parts' / 'iter_2.pth').is_file()
    assert not (tmp_path / 'parts' / 'iter_4.pth').exists()
    resumed = _run(cfg, second, resume=True)  # latest checkpoint: iter_2
    assert [i for i, _ in second] == [3, 4, 5, 6]
    assert [i for i, _ in full] == [1, 2, 3, 4, 5, 6]
    losses = [loss for _, loss in first[:2] + second]
    assert losses == pytest.approx([loss for _, loss in full], rel=1e-5, abs=1e-6)
    assert resumed.iter == 6
    state = resumed.model.state_dict()
    for key, value in reference.items():
        torch.testing.assert_close(state[key], value, msg=key)
    assert 'losses.hard_negative.cmr_threshold' in state  # the CMR threshold is resumed too
