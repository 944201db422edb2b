"""Zero-shot evaluation loops: ``FGCLIP2ValLoop`` (during training) and ``FGCLIP2TestLoop``.

Both run :func:`fgclip2_mm.evaluation.loop.run_zero_shot_tasks`, the loop that
:func:`fgclip2_mm.evaluation.evaluate_zero_shot` runs too, between the runner's hooks: it
attaches a :class:`~fgclip2_mm.evaluation.FGCLIP2ZeroShotHead` (tokenizer, vocabulary
cache) to the model, then steps every batch through ``runner.model.val_step`` /
``test_step`` -- the config's data preprocessor, then ``FGCLIP2.forward(mode='predict')``
-- so the numbers are the same in a training run, in ``tools/test.py`` and in Python, and a
DDP or FSDP wrapper sees every tower call. Per dataset the head first encodes the
vocabulary (class tasks, on the first batch, disk-cached), then every batch is predicted
and fed to the evaluator. ``extra_tasks`` adds more (dataloader, evaluator) pairs
evaluated in the same loop (e.g. box classification *and* FG-OVD during pretraining);
their metric names must not collide (give each metric its own ``prefix``).

Config (training)::

    val_dataloader = dict(batch_size=8, num_workers=2, collate_fn=dict(type='pseudo_collate'),
                          sampler=dict(type='DefaultSampler', shuffle=False),
                          dataset=dict(type='fgclip2_mm.FGCLIP2BoxClsDataset', ...))
    val_evaluator = dict(type='fgclip2_mm.FGCLIP2BoxClsMetric')
    val_cfg = dict(type='fgclip2_mm.FGCLIP2ValLoop', tokenizer='data/synthetic/tokenizer',
                   extra_tasks=[dict(dataloader=..., evaluator=...)])
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

from mmengine.runner import TestLoop, ValLoop

from fgclip2_mm.registry import LOOPS

#: ``cache_dir`` value meaning ``<work_dir>/text_embedding_cache``.
WORK_DIR_CACHE = 'work_dir'


class _ZeroShotTasks:
    """The (dataloader, evaluator) pairs and the zero-shot head of both loops; a loop
    sets ``STAGE`` (``'val'`` / ``'test'``) and ``DEFAULT_CACHE_DIR``."""
    STAGE: str
    DEFAULT_CACHE_DIR: Optional[str]
    _UNSET = object()

    def __init__(self,
                 runner,
                 dataloader,
                 evaluator: Union[dict, List],
                 tokenizer: Optional[Union[str, dict]] = None,
                 cache_dir=_UNSET,
                 extra_tasks: Sequence[dict] = (),
                 region_logit_scale: float = 100.0,
                 text_batch_size: int = 256,
                 fp16: bool = False) -> None:
        super().__init__(runner, dataloader, evaluator, fp16)  # ValLoop / TestLoop
        if cache_dir is self._UNSET:
            cache_dir = self.DEFAULT_CACHE_DIR
        self._setup(tokenizer, cache_dir, list(extra_tasks), region_logit_scale,
                    text_batch_size)

    def run(self) -> dict:
        """Evaluate every task; metrics of all tasks in one dict."""
        return self._run_with_hooks(self.STAGE)

    def _setup(self, tokenizer, cache_dir: Optional[str], extra_tasks: Sequence[dict],
               region_logit_scale: float, text_batch_size: int) -> None:
        from fgclip2_mm.evaluation.zero_shot_head import FGCLIP2ZeroShotHead
        if tokenizer is None:
            raise ValueError(f'{type(self).__name__} needs tokenizer=<folder> (the tokenizer '
                             'files; a checkpoint folder holds them)')
        if cache_dir == WORK_DIR_CACHE:
            cache_dir = osp.join(self.runner.work_dir, 'text_embedding_cache')
        self.head = FGCLIP2ZeroShotHead(tokenizer, cache_dir, region_logit_scale,
                                        text_batch_size)
        self.tasks = [(self.dataloader, self.evaluator)]
        if isinstance(extra_tasks, dict) or not isinstance(extra_tasks, (list, tuple)):
            raise ValueError(f'extra_tasks must be a list of dict(dataloader=..., '
                             f'evaluator=...), got {type(extra_tasks).__name__}')
        for index, task in enumerate(extra_tasks):
            if not isinstance(task, dict) or set(task) != {'dataloader', 'evaluator'}:
                raise ValueError(f'extra_tasks[{index}] must be dict(dataloader=..., '
                                 f'evaluator=...), got {task!r}')
            loader = self.runner.build_dataloader(task['dataloader'], seed=self.runner.seed)
            evaluator = self.runner.build_evaluator(task['evaluator'])
            evaluator.dataset_meta = loader.dataset.metainfo
            self.tasks.append((loader, evaluator))

    def _run_with_hooks(self, stage: str) -> Dict[str, float]:
        """The shared task loop between the runner's ``before/after_<stage>[_epoch]`` hooks."""
        from fgclip2_mm.evaluation.loop import run_zero_shot_tasks
        self.runner.call_hook(f'before_{stage}')
        self.runner.call_hook(f'before_{stage}_epoch')
        metrics = run_zero_shot_tasks(self.runner.model, self.tasks, self.head, stage,
                                      self.fp16, self.runner.call_hook)
        self.runner.call_hook(f'after_{stage}_epoch', metrics=metrics)
        self.runner.call_hook(f'after_{stage}')
        return metrics


@LOOPS.register_module()
class FGCLIP2ValLoop(_ZeroShotTasks, ValLoop):
    """Validation loop of the zero-shot protocols (see the module docstring).

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The first task's dataloader.
        evaluator (Evaluator | dict | list): The first task's metric(s).
        tokenizer (str | dict): Tokenizer folder (or ``FGCLIP2Tokenizer`` arguments).
        cache_dir (str, optional): Vocabulary-embedding disk cache; ``'work_dir'`` means
            ``<work_dir>/text_embedding_cache``. Defaults to None (off): during training the
            text tower changes between validations, so an entry would never be read again
            (the vocabulary is still encoded only once per validation and dataset).
        extra_tasks (Sequence[dict]): More ``dict(dataloader=..., evaluator=...)``.
        region_logit_scale (float): FG-OVD softmax scale. Defaults to 100.
        text_batch_size (int): Texts per forward. Defaults to 256.
        fp16 (bool): Autocast. Defaults to False.
    """

    STAGE = 'val'
    DEFAULT_CACHE_DIR = None


@LOOPS.register_module()
class FGCLIP2TestLoop(_ZeroShotTasks, TestLoop):
    """Test loop of the zero-shot protocols: the arguments of :class:`FGCLIP2ValLoop`,
    except that ``cache_dir`` defaults to ``'work_dir'`` (vocabulary embeddings of a
    released checkpoint are reused across runs)."""

    STAGE = 'test'
    DEFAULT_CACHE_DIR = WORK_DIR_CACHE
