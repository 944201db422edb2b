"""Checkpoint loading on torch >= 2.6: resume and load_from without environment variables,
weights-only with an explicit allow-list, safetensors without pickle."""
import datetime
import os
import pickle
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint, load_checkpoint
from safetensors.torch import save_file
from torch.utils.data import Dataset

import fgclip2_mm  # noqa: F401  (registers the safe loader)
from fgclip2_mm.engine import load_checkpoint_file


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=(out - 1).pow(2).mean())
        return out


class ToyDataset(Dataset):

    def __len__(self):
        return 12

    def __getitem__(self, index):
        gen = torch.Generator().manual_seed(index)
        return dict(inputs=torch.randn(3, generator=gen))


class IterCounter(Hook):

    def __init__(self):
        self.count = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.count += 1


def make_runner(work_dir, max_epochs=3, resume=False, load_from=None):
    torch.manual_seed(0)  # same initial weights in every run
    return Runner(
        custom_hooks=[IterCounter()],
        model=ToyModel(),
        work_dir=str(work_dir),
        experiment_name=f'toy_{os.path.basename(str(work_dir))}_{resume}',
        train_dataloader=dict(
            dataset=ToyDataset(), batch_size=4, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.05)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4),
            dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs)
        ],
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1),
                           logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=7),
        resume=resume,
        load_from=load_from,
        default_scope='fgclip2_mm')


def test_resume_from_mid_run_checkpoint_matches_uninterrupted_run(tmp_path):
    full = make_runner(tmp_path / 'full')
    full.train()
    expected = {k: v.clone() for k, v in full.model.state_dict().items()}

    resumed = make_runner(tmp_path / 'resumed_src', max_epochs=3)
    # Interrupt: train 1 epoch only by resuming later from its checkpoint.
    resumed.train_loop._max_epochs = 1
    resumed.train()
    ckpt = tmp_path / 'resumed_src' / 'epoch_1.pth'
    assert ckpt.is_file()

    runner = make_runner(tmp_path / 'resumed', resume=True, load_from=str(ckpt))
    runner.train()
    assert runner.train_loop.epoch == 3
    # Only epochs 2 and 3 ran (3 iterations each): the run really resumed.
    counter = next(h for h in runner.hooks if isinstance(h, IterCounter))
    assert counter.count == 6
    for key, value in runner.model.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=1e-6)


def test_mmengine_checkpoint_needs_the_allow_list(tmp_path):
    if tuple(int(x) for x in torch.__version__.split('.')[:2]) < (2, 6):
        pytest.skip('torch < 2.6 does not default to weights_only=True')
    runner = make_runner(tmp_path / 'plain', max_epochs=1)
    runner.train()
    ckpt = tmp_path / 'plain' / 'epoch_1.pth'
    # A fresh interpreter without fgclip2_mm: plain torch.load refuses the mmengine types,
    # which is the failure our loader fixes.
    code = f'import torch; torch.load({str(ckpt)!r})'
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert proc.returncode != 0 and 'Weights only load failed' in proc.stderr
    # With fgclip2_mm the same file loads through mmengine's own entry point.
    loaded = _load_checkpoint(str(ckpt), map_location='cpu')
    assert isinstance(loaded['message_hub']['log_scalars']['train/loss'], HistoryBuffer)
    assert loaded['meta']['epoch'] == 1


class _Evil:

    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_untrusted_pickle_is_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _Evil()}, path)
    with pytest.raises(pickle.UnpicklingError, match='allow-list'):
        load_checkpoint_file(str(path))


class _GetattrEscape:

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def test_getattr_is_restricted_to_history_buffer_statistics(tmp_path):
    path = tmp_path / 'escape.pth'
    torch.save({'x': _GetattrEscape()}, path)
    with pytest.raises(pickle.UnpicklingError, match='refusing getattr'):
        load_checkpoint_file(str(path))


def test_safetensors_load_from_without_pickle(tmp_path, monkeypatch):
    source = ToyModel()
    path = tmp_path / 'weights.safetensors'
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))

    def no_pickle(*args, **kwargs):
        raise AssertionError('torch.load must not be used for safetensors')

    monkeypatch.setattr(torch, 'load', no_pickle)
    target = ToyModel()
    load_checkpoint(target, str(path), map_location='cpu', strict=True)
    for key, value in target.state_dict().items():
        assert torch.equal(value, source.state_dict()[key])


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))


def _save_legacy_pickle(path):
    """A trusted checkpoint of an older tool: it pickles a type outside the allow-list."""
    torch.save({'state_dict': {'w': torch.ones(2)}, 'meta': {'when': datetime.date(2026, 1, 2)}},
               path)


def test_torch_opt_out_loads_a_trusted_legacy_pickle(tmp_path, monkeypatch):
    path = tmp_path / 'legacy.pth'
    _save_legacy_pickle(path)
    monkeypatch.delenv('TORCH_FORCE_WEIGHTS_ONLY_LOAD', raising=False)
    monkeypatch.delenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', raising=False)
    with pytest.raises(pickle.UnpicklingError, match='TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'):
        load_checkpoint_file(str(path))
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    with pytest.warns(UserWarning, match='TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'):
        loaded = _load_checkpoint(str(path), map_location='cpu')  # mmengine's entry point
    assert loaded['meta']['when'] == datetime.date(2026, 1, 2)
    torch.testing.assert_close(loaded['state_dict']['w'], torch.ones(2))
    # Exactly what torch itself returns under the same variable.
    with pytest.warns(UserWarning):
        assert torch.load(str(path))['meta'] == loaded['meta']


def test_torch_opt_out_variables_behave_as_in_torch(tmp_path, monkeypatch):
    path = tmp_path / 'legacy.pth'
    _save_legacy_pickle(path)
    for value in ('0', 'no', ''):  # not torch's "set" values: the safe load stays
        monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', value)
        with pytest.raises(pickle.UnpicklingError, match='allow-list'):
            load_checkpoint_file(str(path))
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', 'True')
    monkeypatch.setenv('TORCH_FORCE_WEIGHTS_ONLY_LOAD', '1')
    with pytest.raises(RuntimeError, match='both were set'):
        load_checkpoint_file(str(path))
