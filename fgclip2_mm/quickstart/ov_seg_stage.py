"""Quick-start stage "ov_seg": open-vocabulary segmentation of the synthetic world.

From the downstream encoder (:mod:`.encoder`: the committed GPU-pretrained one when
present, else the ``pretrain`` section's tiny checkpoint) it measures, on the val split's
seg maps (the world's shapes + background, classes from its ``world_meta.json``), with the
project's configs
(``projects/fgclip2_ovseg/configs/synthetic``) run by mmengine Runners:

- ``miou_training_free_en`` / ``miou_training_free_zh``: the training-free segmentor with
  English / Chinese class names;
- ``miou_random``: the same (English) with random weights of the same architecture;
- ``miou_trained_en``: the cost-aggregation head trained on the train split (frozen
  encoder, a few minutes of CPU);
- ``miou_majority``: control, the background predicted everywhere;

and draws overlays with legends. mIoU values are fractions (mmseg reports percent).
"""
import os
import os.path as osp
import time
from typing import Callable, Optional

import numpy as np

from .controls import seg_majority_miou
from .encoder import downstream_encoder
from .pretrain_pictures import plot_loss_curves, training_history

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                      'projects', 'fgclip2_ovseg', 'configs', 'synthetic')
TF_CONFIG = 'fgclip2-tiny_training-free_synthetic.py'
CAT_CONFIG = 'fgclip2-tiny_catseg_1xb4-1k_synthetic.py'
#: Acceptance bars of the issue (fractions).
BARS = dict(training_free_en=0.2, training_free_zh=0.15, trained_en=0.3, random_gap=0.1)


def _skip(reason: str, log: Callable[[str], None]) -> dict:
    log(f'ov_seg: skipped: {reason}')
    return dict(status='skipped', reason=reason)


def _config(name: str, config, out_dir: str, run_name: str, model: dict):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    cfg.merge_from_dict(dict(model=dict(model, vocabulary=dict(world=config.data_root))))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(loader):
            cfg[loader].dataset.data_root = config.data_root
    cfg.work_dir = osp.join(out_dir, run_name)
    cfg.log_level = 'WARNING'
    cfg.visualizer.name = f'ov_seg_{run_name}_{time.time_ns()}'
    cfg.randomness = dict(seed=config.seed)
    cfg.env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork',
                                                          opencv_num_threads=0),
                       dist_cfg=dict(backend='gloo'))
    return cfg


def _miou(metrics: dict) -> float:
    return round(float(metrics['mIoU']) / 100.0, 4)


def _test(cfg) -> tuple:
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    return _miou(runner.test()), runner


def _random_folder(ckpt: str, out_dir: str, seed: int) -> str:
    """A randomly initialised model with the checkpoint's architecture, saved as a folder."""
    import torch
    from fgclip2_mm.apis import load_fgclip2, save_fgclip2
    from fgclip2_mm.models import FGCLIP2
    arch = load_fgclip2(ckpt).arch_dict()
    torch.manual_seed(seed)
    folder = osp.join(out_dir, 'random_model')
    save_fgclip2(FGCLIP2(arch=arch), folder)
    return folder


def _overlay(segmentor, data_root: str, out_file: str, language: str) -> Optional[dict]:
    """Overlay of the val image with the most classes (a busy, telling picture)."""
    from PIL import Image
    from fgclip2_mm.integrations.mmseg import FGCLIP2OVSegInferencer
    seg_dir = osp.join(data_root, 'seg_maps', 'val')
    names = sorted(os.listdir(seg_dir))[:60]
    if not names:
        return None
    best = max(names, key=lambda n: len(np.unique(np.asarray(Image.open(osp.join(seg_dir, n))))))
    image = osp.join(data_root, 'images', 'val', osp.splitext(best)[0] + '.jpg')
    inferencer = FGCLIP2OVSegInferencer(segmentor)
    out = inferencer(image, texts=dict(world=data_root), language=language, out_file=out_file)
    return dict(image=image, overlay=out['overlay'], labels_file=out['labels_file'],
                cjk_font_missing=out['fallback'])


def run(config, summary: dict, log: Callable[[str], None],
        train_iters: Optional[int] = None) -> dict:
    """Run the stage (see the module docstring).

    Args:
        config (QuickstartConfig): ``work_dir``, ``data_root``, ``seed``.
        summary (dict): Sections finished so far; ``pretrain`` provides the encoder unless
            a GPU one is committed (:func:`~.encoder.downstream_encoder`).
        log (Callable[[str], None]): Progress printer.
        train_iters (int, optional): Training iterations of the head (default: the
            config's); tests use a handful.

    Returns:
        dict: The ``ov_seg`` section (``status`` ``'ok'`` or ``'skipped'`` with a reason).
    """
    encoder, reason = downstream_encoder(config, summary)
    if reason:
        return _skip(reason, log)
    ckpt, tok = encoder['checkpoint'], encoder['tokenizer']
    try:
        import fgclip2_mm.integrations.mmseg  # noqa: F401
    except ImportError as exc:
        return _skip(f'mmseg glue unavailable: {exc}', log)
    if not osp.isfile(osp.join(CONFIG_DIR, TF_CONFIG)):
        return _skip(f'project configs not found in {CONFIG_DIR}', log)
    out_dir = osp.join(config.work_dir, 'ov_seg')
    os.makedirs(out_dir, exist_ok=True)
    common = dict(clip=ckpt, tokenizer=tok, cache_dir=osp.join(out_dir, 'text_cache'))
    section, seconds = dict(status='ok', checkpoint=ckpt, encoder=encoder), {}
    log(f'ov_seg: encoder: {encoder["note"]}')

    t0 = time.time()
    section['miou_training_free_en'], tf_runner = _test(
        _config(TF_CONFIG, config, out_dir, 'training_free_en', dict(common, language='en')))
    seconds['training_free_en'] = round(time.time() - t0, 1)
    log(f'ov_seg: training-free EN mIoU {section["miou_training_free_en"]:.3f}')

    t0 = time.time()
    section['miou_training_free_zh'], _ = _test(
        _config(TF_CONFIG, config, out_dir, 'training_free_zh', dict(common, language='zh')))
    seconds['training_free_zh'] = round(time.time() - t0, 1)
    log(f'ov_seg: training-free ZH mIoU {section["miou_training_free_zh"]:.3f}')

    t0 = time.time()
    random_model = dict(common, clip=_random_folder(ckpt, out_dir, config.seed), language='en')
    section['miou_random'], _ = _test(
        _config(TF_CONFIG, config, out_dir, 'random_weights', random_model))
    seconds['random'] = round(time.time() - t0, 1)
    log(f'ov_seg: random-weights EN mIoU {section["miou_random"]:.3f}')

    t0 = time.time()
    from mmengine.runner import Runner
    cfg = _config(CAT_CONFIG, config, out_dir, 'trained_head', dict(common, language='en'))
    if train_iters is not None:
        cfg.train_cfg.max_iters = int(train_iters)
        cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, begin=0,
                                    end=int(train_iters), eta_min=0)]
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None  # test once, after training
    cfg.default_hooks.checkpoint.interval = cfg.train_cfg.max_iters
    runner = Runner.from_cfg(cfg)
    runner.train()
    seconds['train'] = round(time.time() - t0, 1)
    loss_curve = plot_loss_curves(training_history(runner),
                                  osp.join(config.work_dir, 'ov_seg_loss.png'))
    section['train_iters'] = int(cfg.train_cfg.max_iters)
    section['miou_trained_en'] = _miou(runner.test())
    seconds['trained_test'] = round(time.time() - t0 - seconds['train'], 1)
    log(f'ov_seg: trained head EN mIoU {section["miou_trained_en"]:.3f} '
        f'({section["train_iters"]} iterations, {seconds["train"]} s)')

    pictures = dict(
        trained_en=_overlay(runner.model, config.data_root,
                            osp.join(config.work_dir, 'ov_seg_overlay.png'), 'en'),
        training_free_zh=_overlay(tf_runner.model, config.data_root,
                                  osp.join(config.work_dir, 'ov_seg_overlay_zh.png'), 'zh'))
    pictures['loss_curve'] = loss_curve
    section.update(pictures=pictures, overlay=(pictures['trained_en'] or {}).get('overlay'))
    section['miou_majority'] = seg_majority_miou(config.data_root)
    section['bars'] = dict(
        training_free_en=section['miou_training_free_en'] >= BARS['training_free_en'],
        training_free_zh=section['miou_training_free_zh'] >= BARS['training_free_zh'],
        trained_en=(section['miou_trained_en'] >= BARS['trained_en']
                    and section['miou_trained_en'] > section['miou_training_free_en']),
        random_gap=(section['miou_training_free_en'] - section['miou_random']
                    >= BARS['random_gap']))
    section['seconds_by_part'] = seconds
    missed = [k for k, ok in section['bars'].items() if not ok]
    log(f'ov_seg: bars missed: {missed}' if missed else 'ov_seg: all bars met')
    return section
