"""Every config of projects/fgclip2_ovseg parses; the synthetic twins run end to end with
mmengine Runners on a tiny world (test; 2 training iterations then test)."""
import glob
import re
import os.path as osp

import pytest

pytest.importorskip('mmseg')

import fgclip2_mm  # noqa: E402,F401  (mmseg:: bases without pkg_resources)
from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from fgclip2_mm.integrations.mmseg.testing import TINY_HEAD  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(ROOT, 'projects', 'fgclip2_ovseg', 'configs')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '**', '*.py'), recursive=True))
LEAVES = [c for c in CONFIGS if '_base_' not in c]


def test_there_is_a_config_for_every_benchmark():
    names = ' '.join(osp.basename(c) for c in LEAVES)
    for bench in ('ade20k-847', 'context459', 'ade20k-150', 'context59', 'context60', 'voc20',
                  'voc21', 'coco-object', 'voc21-zh', 'coco-stuff171', 'synthetic'):
        assert bench in names, bench
    for bench in ('ade20k-847', 'context459', 'ade20k-150', 'context59', 'voc20', 'voc21'):
        assert f'zero-shot_{bench}' in names, bench


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, CONFIG_DIR))
def test_config_parses(path):
    cfg = Config.fromfile(path)
    if path in LEAVES:
        with open(path, encoding='utf-8') as f:
            assert len(f.read().splitlines()) <= 60, 'leaf configs stay short'
        assert cfg.model.type.startswith('fgclip2_mm.FGCLIP2')
        assert cfg.default_scope == 'mmseg'
        assert 'fgclip2_mm.integrations.mmseg' in cfg.custom_imports.imports
        assert cfg.model.get('vocabulary'), 'every leaf names its vocabulary'
        has_train = cfg.get('train_dataloader') is not None
        assert has_train == (cfg.get('train_cfg') is not None), 'runnable by a Runner'


def synthetic_cfg(name, world, ckpt, work_dir, **model):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'synthetic', name))
    cfg.merge_from_dict(dict(model=dict(clip=ckpt, tokenizer=ckpt, cache_dir=False,
                                        vocabulary=dict(world=world), **model)))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(loader):
            cfg[loader].dataset.data_root = world
    cfg.test_dataloader.dataset.indices = 4
    cfg.work_dir = str(work_dir)
    cfg.visualizer.name = f'vis_{osp.basename(str(work_dir))}'
    return cfg


@pytest.mark.parametrize('language', ['en', 'zh'])
def test_synthetic_training_free_config_runs(world, ckpt, tmp_path, language):
    cfg = synthetic_cfg('fgclip2-tiny_training-free_synthetic.py', world, ckpt, tmp_path,
                        language=language)
    metrics = Runner.from_cfg(cfg).test()
    assert set(metrics) >= {'mIoU', 'aAcc'} and 0.0 <= metrics['mIoU'] <= 100.0


def test_synthetic_trained_config_trains_and_tests(world, ckpt, tmp_path):
    cfg = synthetic_cfg('fgclip2-tiny_catseg_1xb4-1k_synthetic.py', world, ckpt, tmp_path,
                        decode_head=dict(TINY_HEAD))
    cfg.train_cfg.max_iters = 2
    cfg.train_cfg.val_interval = 2
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=2)]
    cfg.val_dataloader.dataset.indices = 2
    cfg.default_hooks.checkpoint.interval = 2
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert osp.isfile(osp.join(str(tmp_path), 'iter_2.pth'))
    assert 'mIoU' in runner.test()


def _expand(token):
    """``a_{x,y}.py`` -> ``['a_x.py', 'a_y.py']`` (nested braces are not used)."""
    match = re.search(r'\{([^{}]*)\}', token)
    if match is None:
        return [token]
    head, tail = token[:match.start()], token[match.end():]
    return [p for alt in match.group(1).split(',') for p in _expand(head + alt + tail)]


def test_project_readme_names_existing_files():
    project = osp.dirname(CONFIG_DIR)
    text = open(osp.join(project, 'README.md'), encoding='utf-8').read()
    tokens = re.findall(r'((?:projects|configs|_base_|fgclip2_mm|tools)/[\w./{},+-]+\.(?:py|md))',
                        text)
    checked = 0
    for token in tokens:
        if token.startswith('tools/dataset_converters'):
            continue  # mmseg's converters, not ours
        for path in _expand(token):
            base = project if path.startswith(('configs/', '_base_/')) else ROOT
            if path.startswith('_base_/'):
                base = CONFIG_DIR
            assert osp.exists(osp.join(base, path)), f'README names a missing file: {path}'
            checked += 1
    assert checked > 20
