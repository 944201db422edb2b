"""The hosts' own tools work on our configs: plain mmengine parses every ``projects/`` config
(``mmdet::`` / ``mmseg::`` bases included) in an interpreter where nothing of ours is
imported, and mmdet's own ``tools/train.py`` trains the synthetic detection config for a few
iterations (its ``custom_imports`` import the plugin, nothing else does)."""
import glob
import json
import math
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PROJECT_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'projects', '*', 'configs', '**', '*.py'),
                                   recursive=True))
DET_CONFIG = osp.join(ROOT, 'projects', 'fgclip2_ovdet', 'configs', 'synthetic',
                      'fvit_fgclip2-tiny_simplefpn_synthetic-ov.py')

_PARSE = r'''
import json, sys
from mmengine.config import Config
failed = {}
for path in json.loads(sys.argv[1]):
    try:  # as the hosts' tools parse: bases first; custom_imports are left out here
        Config.fromfile(path, import_custom_modules=False)
    except Exception as err:  # noqa: B902  (report every config, not only the first)
        failed[path] = f'{type(err).__name__}: {err}'
print(json.dumps(dict(failed=failed, ours=sorted(m for m in sys.modules
                                                 if m.split('.')[0] == 'fgclip2_mm'))))
'''

# mmdet's own training entry point, run as `python tools/train.py CONFIG ...` would run it.
_TRAIN = r'''
import importlib.util, os.path as osp, runpy, sys
assert not [m for m in sys.modules if m.startswith('fgclip2_mm')]
script = osp.join(osp.dirname(importlib.util.find_spec('mmdet').origin), '.mim', 'tools',
                  'train.py')
sys.argv = [script] + sys.argv[1:]
runpy.run_path(script, run_name='__main__')
'''


def _fresh_python(code, *args, cwd=ROOT, timeout=600):
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    return subprocess.run([sys.executable, '-c', code, *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def test_set_up_ships_pkg_resources_for_mmengine():
    """mmengine 0.10.7 resolves ``mmdet::`` bases through ``pkg_resources`` (setuptools < 82,
    pinned in requirements/runtime.txt)."""
    proc = _fresh_python('import pkg_resources, setuptools; print(setuptools.__version__)')
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_plain_mmengine_parses_every_project_config():
    pytest.importorskip('mmdet')
    pytest.importorskip('mmseg')
    assert len(PROJECT_CONFIGS) >= 40
    cross_package = [p for p in PROJECT_CONFIGS
                     if 'mmdet::' in open(p).read() or 'mmseg::' in open(p).read()]
    assert cross_package, 'the check must cover mmdet:: / mmseg:: bases'
    proc = _fresh_python(_PARSE, json.dumps(PROJECT_CONFIGS))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result['failed'] == {}
    assert result['ours'] == [], 'parsing must not need fgclip2_mm imported'


def test_without_pkg_resources_importing_the_plugin_keeps_host_bases_resolving():
    """The host fix for setuptools >= 82 (``fgclip2_mm.utils.package_compat``): where
    ``pkg_resources`` is missing, plain mmengine fails on an ``mmdet::`` base and importing
    ``fgclip2_mm`` first makes the same parse work."""
    pytest.importorskip('mmdet')
    code = ('import sys; sys.modules["pkg_resources"] = None  # as on setuptools >= 82\n'
            'from mmengine.config import Config\n'
            '{}Config.fromfile(sys.argv[1], import_custom_modules=False); print("parsed")')
    plain = _fresh_python(code.format(''), DET_CONFIG)
    assert plain.returncode != 0 and 'pkg_resources' in plain.stderr
    fixed = _fresh_python(code.format('import fgclip2_mm; '), DET_CONFIG)
    assert fixed.returncode == 0 and fixed.stdout.strip() == 'parsed', fixed.stderr[-2000:]


def _losses(work_dir):
    logs = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    assert len(logs) == 1, logs
    rows = [json.loads(line) for line in open(logs[0]) if line.strip()]
    return [row for row in rows if 'loss' in row]


def test_mmdet_train_tool_trains_the_synthetic_config(tmp_path_factory):
    pytest.importorskip('mmdet')
    import mmdet
    if not osp.isfile(osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')):
        pytest.skip('this mmdet install does not ship tools/train.py')
    from fgclip2_mm.testing import synthetic_world, write_tiny_checkpoint
    world = synthetic_world(str(tmp_path_factory.getbasetemp()))
    ckpt = write_tiny_checkpoint(str(tmp_path_factory.mktemp('host_ckpt')), f'{world}/tokenizer')
    work_dir = str(tmp_path_factory.mktemp('mmdet_train'))
    root, val_ann = osp.join(world, ''), osp.join(world, 'annotations', 'instances_val.json')
    text = 'model.roi_head.bbox_head.text_embeddings'
    options = [
        f'model.backbone.checkpoint={ckpt}', f'{text}.checkpoint={ckpt}',
        f'{text}.tokenizer={world}/tokenizer', f'{text}.cache_dir={work_dir}/text_cache',
        f'train_dataloader.dataset.data_root={root}', f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}', f'val_evaluator.ann_file={val_ann}',
        f'test_evaluator.ann_file={val_ann}', 'train_dataloader.dataset.indices=4',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=10', 'default_hooks.logger.interval=1',
        'randomness.seed=0'
    ]
    proc = _fresh_python(_TRAIN, DET_CONFIG, '--work-dir', work_dir, '--cfg-options', *options)
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-4000:])
    losses = _losses(work_dir)
    assert [row['iter'] for row in losses] == [1, 2]  # 4 images, batch 2, one epoch
    assert all(math.isfinite(row['loss']) and row['loss'] > 0 for row in losses)
    assert {'loss_rpn_cls', 'loss_cls', 'loss_bbox'} <= set(losses[0])
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
