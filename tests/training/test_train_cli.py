"""tools/train.py: clear errors without data; a 2-process gloo run (--launcher pytorch)."""
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

from .helpers import synthetic_cfg

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TRAIN = osp.join(ROOT, 'tools', 'train.py')
TINY = ['model.arch=tiny', 'model.vision_backbone.arch=tiny', 'model.text_encoder.arch=tiny']


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_missing_data_is_one_clear_error(tmp_path):
    """configs/fgclip2_stage2.py without data: exit 2, the missing paths and how to get
    them, no traceback (the tiny arch only keeps the test fast)."""
    proc = subprocess.run(
        [sys.executable, TRAIN, osp.join(ROOT, 'configs', 'fgclip2_stage2.py'), '--work-dir',
         str(tmp_path), '--cfg-options', *TINY], capture_output=True, text=True, cwd=tmp_path,
        timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr
    error = proc.stderr[proc.stderr.index('tools/train.py: error:'):]
    assert 'data/finehard' in error and 'data/cn_pairs' in error
    assert 'qihoo360/FineHARD' in error  # how to get it
    assert len(error.splitlines()) < 15


@pytest.mark.dist
def test_two_process_gloo_training(small_world, tmp_path):
    cfg = synthetic_cfg(small_world, tmp_path / 'work', max_iters=3, batch_size=2)
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
         '--master_port', str(_free_port()), TRAIN, path, '--launcher', 'pytorch'],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (tmp_path / 'work' / 'iter_2.pth').is_file()
    log = proc.stdout + proc.stderr
    assert 'Distributed training: True' in log and 'Iter(train) [3/3]' in log
