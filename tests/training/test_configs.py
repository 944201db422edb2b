"""Every config parses; the pretraining configs build (model with the tiny arch, optim
wrapper, schedulers); the synthetic one trains a step on a generated world."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import fgclip2_mm  # noqa: F401
from fgclip2_mm.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS, PARAM_SCHEDULERS
from .helpers import batch, synthetic_cfg

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ALL = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
             if '_base_' not in p.split(osp.sep))
PRETRAIN = sorted(glob.glob(osp.join(ROOT, 'configs', 'fgclip2_stage*.py')))


def test_config_lists_are_not_empty():
    assert len(PRETRAIN) >= 6 and set(PRETRAIN) <= set(ALL)


@pytest.mark.parametrize('path', ALL, ids=lambda p: osp.relpath(p, ROOT))
def test_every_config_parses(path):
    cfg = Config.fromfile(path)
    assert cfg.get('default_scope') == 'fgclip2_mm' or 'model' in cfg


def _tiny(model_cfg: dict) -> dict:
    model_cfg = dict(model_cfg, arch='tiny', init_cfg=None)
    for key in ('vision_backbone', 'text_encoder'):
        model_cfg[key] = dict(model_cfg[key], arch='tiny')
    return model_cfg


@pytest.mark.parametrize('path', PRETRAIN, ids=osp.basename)
def test_pretraining_configs_build(path):
    cfg = Config.fromfile(path)
    with DefaultScope.overwrite_default_scope('fgclip2_mm'):
        model = MODELS.build(_tiny(cfg.model.to_dict()))
        wrapper_cfg = {k: v for k, v in cfg.optim_wrapper.items() if k != 'constructor'}
        if wrapper_cfg['type'] == 'AmpOptimWrapper' and not torch.cuda.is_available():
            wrapper_cfg = dict(type='OptimWrapper', optimizer=wrapper_cfg['optimizer'])
        ctor = OPTIM_WRAPPER_CONSTRUCTORS.build(
            dict(type=cfg.optim_wrapper.constructor, optim_wrapper_cfg=wrapper_cfg))
        wrapper = ctor(model)
        for sched in cfg.param_scheduler:
            PARAM_SCHEDULERS.build(dict(sched, optimizer=wrapper.optimizer))
    assert {'sigmoid'} <= set(model.losses)
    if 'stage1' in path:
        assert set(model.losses) == {'sigmoid'}
        assert not model.vision_backbone.dense_head.attn.qkv.weight.requires_grad
    else:
        assert set(model.losses) == {'sigmoid', 'region', 'tic', 'hard_negative'}
        assert model.losses.hard_negative.part_weights == (0.6, 3.0, 0.4)
    assert cfg.env_cfg.dist_cfg.backend == ('gloo' if 'synthetic' in path else 'nccl')
    if 'synthetic' not in path:  # the released recipe
        assert cfg.optim_wrapper.optimizer.lr == 1e-6
        if cfg.get('runner_type') is None:
            assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
            assert cfg.optim_wrapper.dtype == 'bfloat16'
        assert cfg.optim_wrapper.optimizer.betas == (0.9, 0.98)
        assert cfg.train_dataloader.batch_size == 512
        assert cfg.param_scheduler[0].end == int(0.03 * cfg.train_cfg.max_iters)
    if cfg.get('runner_type') == 'FlexibleRunner':
        assert cfg.strategy.type == 'FSDPStrategy'
        assert cfg.optim_wrapper.type == 'OptimWrapper'


def test_synthetic_config_trains_a_step(small_world, tmp_path):
    from mmengine.runner import Runner
    cfg = synthetic_cfg(small_world, tmp_path, max_iters=1, batch_size=4)
    runner = Runner.from_cfg(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert 'train/loss_hard_pair' in scalars and 'train/num_regions' in scalars
    assert (tmp_path / 'iter_1.pth').is_file()
    feats = runner.model(batch(), mode='tensor')
    assert torch.isfinite(feats['region_features']).all()
