"""Every synthetic evaluation config runs end to end through tools/test.py (Runner.test)
on a tiny model folder and a tiny world, and (English ones) gives exactly the numbers of
evaluate_zero_shot on the same data; the pretraining validation piece runs through
Runner.val with the same numbers; every real-benchmark config parses."""
import copy
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from fgclip2_mm.evaluation import evaluate_zero_shot
from fgclip2_mm.testing import load_script

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SYNTHETIC = sorted(glob.glob(osp.join(ROOT, 'configs', 'eval', 'synthetic', '*.py')))
REAL = sorted(glob.glob(osp.join(ROOT, 'configs', 'eval', '*.py')))
EXPECTED_KEYS = {'box-cls': 'box_cls/top1', 'fgovd': 'fgovd_hard/acc',
                 'retrieval-short': 'retrieval_short/t2i_r1',
                 'retrieval-long': 'retrieval_long/i2t_r1', 'zeroshot-cls': 'zeroshot_cls/top1'}


def _test_tool():
    return load_script(osp.join(ROOT, 'tools', 'test.py'), 'fgclip2_test_tool')


class _Capture:
    """Runner.test's metrics (tools/test.py does not return them)."""

    def __init__(self, monkeypatch):
        self.metrics = None
        original = Runner.test

        def test(runner):
            self.metrics = original(runner)
            return self.metrics

        monkeypatch.setattr(Runner, 'test', test)


def test_synthetic_configs_exist():
    names = {osp.basename(p)[:-3] for p in SYNTHETIC}
    for task in ('box-cls', 'fgovd-hard', 'retrieval-short', 'retrieval-long', 'zeroshot-cls'):
        assert {f'{task}_en', f'{task}_zh'} <= names


@pytest.mark.parametrize('path', SYNTHETIC, ids=[osp.basename(p) for p in SYNTHETIC])
def test_synthetic_config_through_tools_test(path, eval_world, tiny_folder, tiny_model,
                                            tmp_path, monkeypatch):
    capture = _Capture(monkeypatch)
    world = eval_world + '/'
    _test_tool().main([
        path, tiny_folder, '--work-dir', str(tmp_path), '--cfg-options',
        f'test_dataloader.dataset.data_root={world}', 'test_dataloader.num_workers=0',
        f'test_cfg.tokenizer={world}tokenizer'
    ])
    metrics = capture.metrics
    key = next(v for k, v in EXPECTED_KEYS.items() if osp.basename(path).startswith(k))
    assert 0.0 <= metrics[key] <= 1.0
    assert not any(k.endswith('num_failed') and v for k, v in metrics.items())
    if path.endswith('_zh.py'):  # same code path as its English twin, checked below
        return
    cfg = Config.fromfile(path)
    dataset = copy.deepcopy(cfg.test_dataloader.dataset.to_dict())
    dataset['data_root'] = world
    direct = evaluate_zero_shot(tiny_model, [dict(dataset=dataset,
                                                  metric=cfg.test_evaluator.to_dict())],
                                world + 'tokenizer', cache_dir=str(tmp_path / 'cache'))
    assert direct == metrics


def test_pretraining_validation_piece_matches_the_test_configs(eval_world, tiny_folder,
                                                               tiny_model, tmp_path):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'eval', '_base_',
                                   'synthetic_pretrain_val.py'))
    world = eval_world + '/'
    cfg.val_dataloader.dataset.data_root = world
    cfg.val_dataloader.num_workers = 0
    extra = cfg.val_cfg.extra_tasks[0].dataloader
    extra.dataset.data_root, extra.num_workers = world, 0
    cfg.val_cfg.tokenizer = world + 'tokenizer'
    cfg.merge_from_dict(dict(model=dict(type='fgclip2_mm.FGCLIP2FromFolder', path=tiny_folder),
                             work_dir=str(tmp_path), default_scope='fgclip2_mm'))
    metrics = Runner.from_cfg(cfg).val()
    assert metrics['box_cls/num_boxes'] > 0 and metrics['fgovd_hard/num_records'] > 0
    tasks = [dict(dataset=cfg.val_dataloader.dataset.to_dict(),
                  metric=cfg.val_evaluator.to_dict()),
             dict(dataset=extra.dataset.to_dict(),
                  metric=cfg.val_cfg.extra_tasks[0].evaluator.to_dict())]
    assert evaluate_zero_shot(tiny_model, tasks, world + 'tokenizer', cache_dir=None) == metrics


@pytest.mark.parametrize('path', REAL, ids=[osp.basename(p) for p in REAL])
def test_real_benchmark_configs_parse(path):
    cfg = Config.fromfile(path)
    assert cfg.test_cfg.type == 'fgclip2_mm.FGCLIP2TestLoop'
    assert cfg.test_dataloader.dataset.type.startswith('fgclip2_mm.FGCLIP2')
    assert cfg.test_evaluator.type.startswith('fgclip2_mm.FGCLIP2')
    with open(path, encoding='utf-8') as f:
        assert 'Paper' in f.read(), 'every benchmark config states the paper numbers'
