"""Quick-start section ``pretrain``: FG-CLIP 2 stage 2 on the synthetic world, from scratch.

Trains ``configs/fgclip2_stage2_synthetic.py`` with an mmengine ``Runner`` (the same path
as ``tools/train.py``) on the world in ``config.data_root``, saves the model as a folder
that :func:`fgclip2_mm.apis.load_fgclip2` reads (``<work_dir>/pretrain/model``), and
evaluates it on the held-out images with the evaluation protocols' own datasets and metrics
(:func:`fgclip2_mm.evaluation.evaluate_zero_shot`):

* ``box_cls_top1_{en,zh}``: ground-truth box classification over every colour x shape
  phrase of the world (88 classes in the calibrated world, 176 in the legacy one;
  ``'a red circle'`` / ``'红色圆形'``), region features by RoIAlign;
* ``hard_neg_acc_{en,zh}``: FG-OVD hard, the positive ranked first among its 11 texts.

Controls (``controls``): the same four numbers of a randomly initialised model of the same
architecture, and the majority-class box-classification accuracy (:mod:`.controls`).

Pictures: the loss curves and a similarity map of region phrases on a held-out image.
"""
import copy
import json
import os
import os.path as osp
import shutil
import time
from typing import Callable, Dict

import numpy as np

from .controls import box_cls_controls
from .pretrain_pictures import training_history

CONFIG = 'fgclip2_stage2_synthetic.py'
#: Where the synthetic config points; replaced by ``config.data_root``.
CONFIG_DATA_ROOT = 'data/synthetic/'
#: Summary key -> (task, language, metric name in evaluate_zero_shot's output).
METRICS = {
    'box_cls_top1_en': ('box_cls', 'en', 'box_cls_en/top1'),
    'box_cls_top1_zh': ('box_cls', 'zh', 'box_cls_zh/top1'),
    'hard_neg_acc_en': ('fgovd', 'en', 'fgovd_hard_en/acc'),
    'hard_neg_acc_zh': ('fgovd', 'zh', 'fgovd_hard_zh/acc'),
}
TEMPLATES = {'en': 'synthetic_bare_en', 'zh': 'synthetic_bare_zh'}


def config_path() -> str:
    """The synthetic stage-2 config of this checkout."""
    import fgclip2_mm
    path = osp.join(osp.dirname(osp.dirname(osp.abspath(fgclip2_mm.__file__))), 'configs',
                    CONFIG)
    if not osp.isfile(path):
        raise FileNotFoundError(f'pretrain stage: {path} not found (the quick start runs from '
                                'a checkout of the repository, which holds configs/)')
    return path


def _retarget(obj, old: str, new: str):
    """A copy of ``obj`` with every string starting with ``old`` re-rooted at ``new``."""
    if isinstance(obj, dict):
        return {k: _retarget(v, old, new) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_retarget(v, old, new) for v in obj)
    if isinstance(obj, str) and obj.startswith(old):
        return osp.join(new, obj[len(old):])
    return obj


def build_config(config, work_dir: str, overrides: dict = None):
    """The synthetic config re-rooted at ``config.data_root`` (plus ``overrides``)."""
    from mmengine.config import Config
    cfg = Config.fromfile(config_path())
    cfg = Config(_retarget(copy.deepcopy(cfg.to_dict()), CONFIG_DATA_ROOT, config.data_root))
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=config.seed)
    cfg.launcher = 'none'
    if overrides:
        cfg.merge_from_dict(overrides)
    return cfg


def _eval_tasks(cfg, data_root: str) -> dict:
    """Box classification and FG-OVD hard, EN and ZH, at the training patch budget."""
    budget = next(t['max_num_patches'] for t in cfg.train_pipeline
                  if t['type'] == 'FGCLIP2NaFlexPatchify')
    pipeline = [dict(type='FGCLIP2LoadImage'),
                dict(type='FGCLIP2NaFlexPatchify', max_num_patches=budget, dynamic_budget=False),
                dict(type='FGCLIP2PackInputs')]
    tasks = {}
    for lang in ('en', 'zh'):
        tasks[('box_cls', lang)] = dict(
            dataset=dict(type='FGCLIP2BoxClsDataset', data_root=data_root,
                         ann_file='annotations/instances_val.json', vocabulary='colour_shape',
                         templates=TEMPLATES[lang], lang=lang, pipeline=pipeline),
            metric=dict(type='FGCLIP2BoxClsMetric', prefix=f'box_cls_{lang}'))
        tasks[('fgovd', lang)] = dict(
            dataset=dict(type='FGCLIP2FGOVDDataset', data_root=data_root,
                         ann_file=f'annotations/fgovd_hard_{lang}_val.jsonl', lang=lang,
                         pipeline=pipeline),
            metric=dict(type='FGCLIP2FGOVDMetric', prefix=f'fgovd_hard_{lang}'))
    return tasks, budget


def evaluate(model, cfg, data_root: str, tokenizer, log: Callable[[str], None]) -> dict:
    """The four acceptance metrics of the section (see the module docstring)."""
    from fgclip2_mm.evaluation.api import evaluate_zero_shot
    tasks, _ = _eval_tasks(cfg, data_root)
    results = evaluate_zero_shot(model, list(tasks.values()), tokenizer, cache_dir=None,
                                 batch_size=16, log=log)
    return {key: round(float(results[name]), 4) for key, (_, _, name) in METRICS.items()}


def _pictures(model, cfg, data_root: str, tokenizer, history: dict, out_dir: str) -> dict:
    """The loss curves and the similarity maps of the first held-out image with 3 objects."""
    from PIL import Image
    from .pretrain_pictures import plot_loss_curves, similarity_map
    curve = plot_loss_curves(history, osp.join(out_dir, 'pretrain_loss.png'))
    with open(osp.join(data_root, 'annotations', 'finehard_en_val.json'),
              encoding='utf-8') as f:
        record = next(r for r in json.load(f) if len(r.get('bbox_info', [])) >= 3)
    image = np.asarray(Image.open(osp.join(data_root, record['f_path'])).convert('RGB'))
    height, width = image.shape[:2]
    regions = record['bbox_info'][:3]
    boxes = [(b['bbox'][0] * width, b['bbox'][1] * height, b['bbox'][2] * width,
              b['bbox'][3] * height) for b in regions]
    _, budget = _eval_tasks(cfg, data_root)
    sim = similarity_map(model, image, [b['short_expr'] for b in regions], tokenizer,
                         osp.join(out_dir, 'pretrain_similarity.png'), budget, boxes)
    return dict(loss_curve=curve, similarity_map=sim)


def inference_copy(model):
    """The model without its loss modules (whose buffers, e.g. the CMR threshold, belong
    to training checkpoints, not to the inference folder ``load_fgclip2`` reads)."""
    from fgclip2_mm.models import FGCLIP2
    bare = FGCLIP2(arch=model.arch_dict())
    result = bare.load_state_dict(model.state_dict(), strict=False)
    unexpected = [k for k in result.unexpected_keys if not k.startswith('losses.')]
    if result.missing_keys or unexpected:
        raise ValueError(f'inference copy: missing {result.missing_keys}, unexpected {unexpected}')
    return bare.eval()


def random_copy(model, seed: int):
    """A randomly initialised inference model of ``model``'s architecture (the control)."""
    import torch
    from fgclip2_mm.models import FGCLIP2
    torch.manual_seed(seed)
    return FGCLIP2(arch=model.arch_dict()).eval()


def run(config, summary: dict, log: Callable[[str], None], overrides: dict = None) -> dict:
    """Train, save, evaluate and draw (see the module docstring).

    Args:
        config (QuickstartConfig): ``work_dir``, ``data_root``, ``seed``.
        summary (dict): Sections finished so far (unused).
        log (Callable[[str], None]): Progress printer.
        overrides (dict, optional): ``--cfg-options``-style overrides of the config (the
            ablation script switches losses off with it).

    Returns:
        dict: The ``pretrain`` section.
    """
    from mmengine.runner import Runner
    from fgclip2_mm.apis import save_fgclip2
    from fgclip2_mm.datasets import FGCLIP2Tokenizer
    work_dir = osp.join(config.work_dir, 'pretrain')
    cfg = build_config(config, work_dir, overrides)
    log(f'pretrain: {osp.basename(config_path())}, {cfg.train_cfg.max_iters} iterations of '
        f'{cfg.train_dataloader.batch_size} images, logs in {work_dir}')
    runner = Runner.from_cfg(cfg)
    start = time.time()
    runner.train()
    train_seconds = time.time() - start
    model = getattr(runner.model, 'module', runner.model).eval()
    history = training_history(runner)

    ckpt = osp.join(work_dir, 'model')
    save_fgclip2(inference_copy(model), ckpt)
    tok_cfg = next(t['tokenizer'] for t in cfg.train_pipeline if t['type'] == 'FGCLIP2Tokenize')
    for name in os.listdir(tok_cfg['folder']):  # the checkpoint folder carries its tokenizer
        shutil.copyfile(osp.join(tok_cfg['folder'], name), osp.join(ckpt, name))
    tokenizer = FGCLIP2Tokenizer(**tok_cfg)
    log(f'pretrain: trained in {train_seconds:.0f} s; model saved to {ckpt}; evaluating')
    metrics = evaluate(model, cfg, config.data_root, tokenizer, log)
    random_model = random_copy(model, config.seed)
    controls = dict(random_weights=evaluate(random_model, cfg, config.data_root, tokenizer,
                                            log),
                    **box_cls_controls(config.data_root))
    log(f'pretrain: {metrics}; random weights {controls["random_weights"]}')
    pictures = _pictures(model, cfg, config.data_root, tokenizer, history, config.work_dir)
    final = {k: round(float(np.mean(v[-25:])), 4) for k, v in history.items()
             if k.startswith('loss')}
    return dict(
        metrics,
        status='ok',
        checkpoint=ckpt,
        tokenizer=tok_cfg['folder'],
        text_lengths=dict(short=tok_cfg['short_length'], long=tok_cfg['long_length']),
        config=config_path(),
        iterations=int(runner.iter),
        batch_size=int(cfg.train_dataloader.batch_size),
        train_seconds=round(train_seconds, 1),
        final_losses=final,
        cmr_threshold=round(float(model.losses.hard_negative.cmr_threshold), 4),
        controls=controls,
        pictures=pictures)
