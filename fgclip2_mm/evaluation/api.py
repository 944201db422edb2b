"""``evaluate_zero_shot``: run zero-shot protocols on a model without a Runner.

Same datasets, head, metrics and loop (:func:`~fgclip2_mm.evaluation.loop.run_zero_shot_tasks`,
through ``model.test_step``) as :class:`~fgclip2_mm.engine.FGCLIP2TestLoop`, on one
process (the quick start and the pretraining stage use it).
"""
from typing import Callable, Dict, Optional, Sequence, Union

import torch
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator

from fgclip2_mm.registry import DATASETS, METRICS
from fgclip2_mm.text.embeddings import DEFAULT_CACHE_DIR
from fgclip2_mm.utils.build import build_owned
from .loop import run_zero_shot_tasks
from .zero_shot_head import FGCLIP2ZeroShotHead


def _metrics(cfg) -> list:
    cfgs = cfg if isinstance(cfg, (list, tuple)) else [cfg]
    return [build_owned(c, METRICS) for c in cfgs]


def evaluate_zero_shot(model: torch.nn.Module,
                       tasks: Sequence[dict],
                       tokenizer,
                       cache_dir: Optional[str] = DEFAULT_CACHE_DIR,
                       batch_size: int = 8,
                       num_workers: int = 0,
                       log: Optional[Callable[[str], None]] = None) -> Dict[str, float]:
    """Evaluate ``model`` on every task.

    Args:
        model (FGCLIP2): The model (put in eval mode here), possibly wrapped; its data
            preprocessor batches the images.
        tasks (Sequence[dict]): ``dict(dataset=<config or dataset>, metric=<config, metric
            or a list of them>)`` per task.
        tokenizer (str | dict | FGCLIP2Tokenizer): Tokenizer (folder).
        cache_dir (str, optional): Vocabulary-embedding cache (None disables).
        batch_size (int): Images per batch. Defaults to 8.
        num_workers (int): Dataloader workers. Defaults to 0.
        log (Callable[[str], None], optional): Progress messages.

    Returns:
        dict: Every metric of every task (``<prefix>/<name>``).
    """
    built = []
    for index, task in enumerate(tasks):
        if not isinstance(task, dict) or set(task) != {'dataset', 'metric'}:
            raise ValueError(f'tasks[{index}] must be dict(dataset=..., metric=...), got '
                             f'{task!r}')
        dataset = build_owned(task['dataset'], DATASETS)
        evaluator = Evaluator(_metrics(task['metric']))
        evaluator.dataset_meta = dataset.metainfo
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False,
                                             num_workers=num_workers, collate_fn=pseudo_collate)
        built.append((loader, evaluator))
    return run_zero_shot_tasks(model, built, FGCLIP2ZeroShotHead(tokenizer, cache_dir), log=log)


def as_task(dataset: Union[dict, object], metric: Union[dict, list]) -> dict:
    """``dict(dataset=dataset, metric=metric)`` (readability helper)."""
    return dict(dataset=dataset, metric=metric)
