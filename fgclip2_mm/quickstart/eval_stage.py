"""Quick-start stage ``eval``: zero-shot evaluation of the pretrained tiny model.

Evaluates the downstream encoder (:mod:`.encoder`: the committed GPU-pretrained one when
present, else ``summary['pretrain']``'s checkpoint and tokenizer, a
:func:`~fgclip2_mm.apis.load_fgclip2` folder) on the held-out val split of the
synthetic world, with the datasets and metrics of ``configs/eval/synthetic/*.py`` (read
from those files, so the quick start and ``tools/test.py`` cannot drift apart), and
reports the headline numbers plus every metric under ``details``. Skipped, with the
reason, when the pretraining section is missing or did not finish.
"""
import copy
import os.path as osp
import time
from typing import Callable, Dict

from mmengine.config import Config

from .encoder import downstream_encoder

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
                      'eval', 'synthetic')
# summary key -> (synthetic config, metric name)
HEADLINES = {
    'retrieval_short_i2t_r1_en': ('retrieval-short_en', 'i2t_r1'),
    'retrieval_short_t2i_r1_en': ('retrieval-short_en', 't2i_r1'),
    'retrieval_long_i2t_r1_en': ('retrieval-long_en', 'i2t_r1'),
    'retrieval_long_t2i_r1_en': ('retrieval-long_en', 't2i_r1'),
    'retrieval_short_i2t_r1_zh': ('retrieval-short_zh', 'i2t_r1'),
    'retrieval_short_t2i_r1_zh': ('retrieval-short_zh', 't2i_r1'),
    'retrieval_long_i2t_r1_zh': ('retrieval-long_zh', 'i2t_r1'),
    'retrieval_long_t2i_r1_zh': ('retrieval-long_zh', 't2i_r1'),
    'box_cls_top1_en': ('box-cls_en', 'top1'),
    'box_cls_top1_zh': ('box-cls_zh', 'top1'),
    'fgovd_hard_acc_en': ('fgovd-hard_en', 'acc'),
    'fgovd_hard_acc_zh': ('fgovd-hard_zh', 'acc'),
    'zeroshot_cls_top1_en': ('zeroshot-cls_en', 'top1'),
}
#: The issue's bars on this data (they depend on the pretraining checkpoint).
BARS = {'retrieval_r1': 0.3, 'box_cls_top1_en': 0.8, 'fgovd_hard_acc_en': 0.5}


def synthetic_tasks(data_root: str) -> list:
    """One evaluation task per synthetic config of :data:`HEADLINES`, on ``data_root``;
    each metric is prefixed by its config name."""
    tasks = []
    for name in dict.fromkeys(cfg for cfg, _ in HEADLINES.values()):
        cfg = Config.fromfile(osp.join(CONFIG_DIR, f'{name}.py'))
        dataset = copy.deepcopy(cfg.test_dataloader.dataset.to_dict())
        dataset['data_root'] = osp.join(data_root, '')
        metric = dict(cfg.test_evaluator.to_dict(), prefix=name)
        tasks.append(dict(dataset=dataset, metric=metric))
    return tasks


def check_bars(headlines: Dict[str, float]) -> Dict[str, bool]:
    """Which of the issue's bars the numbers reach."""
    retrieval = [v for k, v in headlines.items() if k.startswith('retrieval_')]
    return {
        'every_retrieval_r1>=0.3': bool(retrieval) and min(retrieval) >= BARS['retrieval_r1'],
        'box_cls_top1_en>=0.8': headlines['box_cls_top1_en'] >= BARS['box_cls_top1_en'],
        'fgovd_hard_acc_en>=0.5': headlines['fgovd_hard_acc_en'] >= BARS['fgovd_hard_acc_en'],
    }


def run(config, summary: dict, log: Callable[[str], None]) -> dict:
    """Evaluate the downstream encoder (:func:`~.encoder.downstream_encoder`: the committed
    GPU one, else the pretrain section's); ``{'status': 'skipped', 'reason': ...}`` without
    one."""
    encoder, reason = downstream_encoder(config, summary)
    if encoder is None:
        log(f'eval: skipped ({reason})')
        return {'status': 'skipped', 'reason': reason}
    from fgclip2_mm.apis import load_fgclip2
    from fgclip2_mm.evaluation import evaluate_zero_shot
    log(f'eval: encoder: {encoder["note"]}')
    t0 = time.time()
    model = load_fgclip2(encoder['checkpoint'])
    metrics = evaluate_zero_shot(
        model, synthetic_tasks(config.data_root), encoder['tokenizer'],
        cache_dir=osp.join(config.work_dir, 'text_embedding_cache'), batch_size=16,
        log=lambda m: log(f'  eval: {m}'))
    headlines = {key: round(float(metrics[f'{cfg}/{name}']), 4)
                 for key, (cfg, name) in HEADLINES.items()}
    failed = sum(v for k, v in metrics.items() if 'num_failed' in k)
    return dict(
        status='ok',
        checkpoint=encoder['checkpoint'],
        encoder=encoder,
        split='val',
        gallery_images=int(metrics['retrieval-short_en/num_images']),
        num_failed_samples=int(failed),
        **headlines,
        bars=check_bars(headlines),
        details={k: (round(v, 4) if isinstance(v, float) else v) for k, v in metrics.items()},
        eval_seconds=round(time.time() - t0, 1))
