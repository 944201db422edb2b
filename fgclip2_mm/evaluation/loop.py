"""The one zero-shot evaluation loop, shared by ``FGCLIP2TestLoop`` (``tools/test.py``),
``FGCLIP2ValLoop`` (validation during training) and :func:`evaluate_zero_shot`.

Per run: attach the :class:`FGCLIP2ZeroShotHead` to the model (``FGCLIP2.zero_shot_head``)
and forget its memo; per (dataloader, evaluator) task: :meth:`FGCLIP2ZeroShotHead.prepare`
with the dataset's metainfo, then for every batch ``model.test_step(batch)`` (``val_step``
for validation) -- mmengine's own step: the model's data preprocessor, then
``forward(mode='predict')`` -- and ``evaluator.process``, as mmengine's ``TestLoop.run_iter``
does (``mmengine/runner/loops.py``). A wrapped model (``MMDistributedDataParallel``,
``MMFullyShardedDataParallel``) is stepped through its wrapper.
"""
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
from mmengine.model import is_model_wrapper
from mmengine.runner.amp import autocast

from .zero_shot_head import FGCLIP2ZeroShotHead

STAGES = ('val', 'test')


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside a DDP / FSDP / mmengine wrapper."""
    return model.module if is_model_wrapper(model) else model


def is_sharded(model: torch.nn.Module) -> bool:
    """Whether ``model`` is an FSDP wrapper (its parameters are sharded across ranks)."""
    from torch.distributed.fsdp import FullyShardedDataParallel
    return isinstance(model, FullyShardedDataParallel)


def attach_head(model: torch.nn.Module, head: FGCLIP2ZeroShotHead) -> torch.nn.Module:
    """Set ``head`` as the zero-shot predict path of ``model`` (wrapped or not).

    Returns:
        nn.Module: The unwrapped model.

    Raises:
        ValueError: The model has no ``zero_shot_head`` (not an FGCLIP2).
    """
    inner = unwrap_model(model)
    if not hasattr(type(inner), 'zero_shot_head'):
        raise ValueError(f'{type(inner).__name__} has no zero-shot predict path '
                         '(zero_shot_head); evaluate a fgclip2_mm.FGCLIP2 model')
    head.sharded = is_sharded(model)
    inner.zero_shot_head = head
    return inner


@torch.no_grad()
def run_zero_shot_tasks(model: torch.nn.Module,
                        tasks: Sequence[Tuple[object, object]],
                        head: FGCLIP2ZeroShotHead,
                        stage: str = 'test',
                        fp16: bool = False,
                        call_hook: Optional[Callable] = None,
                        log: Optional[Callable[[str], None]] = None) -> Dict[str, float]:
    """Evaluate every (dataloader, evaluator) pair through the model's own step.

    Args:
        model (nn.Module): FGCLIP2, possibly wrapped (DDP, FSDP).
        tasks (Sequence[tuple]): ``(dataloader, evaluator)`` pairs; each evaluator has its
            ``dataset_meta`` set.
        head (FGCLIP2ZeroShotHead): The zero-shot head (tokenizer, cache, memo).
        stage (str): ``'val'`` (``model.val_step``) or ``'test'`` (``model.test_step``).
            Defaults to ``'test'``.
        fp16 (bool): Autocast the steps. Defaults to False.
        call_hook (Callable, optional): ``Runner.call_hook``, called with
            ``before_<stage>_iter`` / ``after_<stage>_iter``.
        log (Callable[[str], None], optional): Receives one line of metrics per task.

    Returns:
        dict: Every metric of every task (``<prefix>/<name>``).

    Raises:
        ValueError: Two tasks produce the same metric name.
    """
    if stage not in STAGES:
        raise ValueError(f'stage must be one of {STAGES}, got {stage!r}')
    attach_head(model, head)
    step = model.val_step if stage == 'val' else model.test_step
    model.eval()
    head.reset()  # the weights may have changed since the last run
    metrics: Dict[str, float] = {}
    for loader, evaluator in tasks:
        head.prepare(loader.dataset.metainfo)
        for idx, data_batch in enumerate(loader):
            if call_hook is not None:
                call_hook(f'before_{stage}_iter', batch_idx=idx, data_batch=data_batch)
            with autocast(enabled=fp16):
                outputs = step(data_batch)
            evaluator.process(data_samples=outputs, data_batch=data_batch)
            if call_hook is not None:
                call_hook(f'after_{stage}_iter', batch_idx=idx, data_batch=data_batch,
                          outputs=outputs)
        task_metrics = evaluator.evaluate(len(loader.dataset))
        clash = sorted(set(task_metrics) & set(metrics))
        if clash:
            raise ValueError(f'metric names {clash} are produced by two tasks; give the '
                             'metrics different prefixes')
        metrics.update(task_metrics)
        if log is not None:
            log(f'{type(loader.dataset).__name__}: ' + ', '.join(
                f'{k}={v:.4f}' if isinstance(v, float) else f'{k}={v}'
                for k, v in task_metrics.items()))
    return metrics
