"""``FGCLIP2EvalDataset``: what every zero-shot evaluation dataset shares.

* A default pipeline (load the image with PIL, NaFlex patchify under FG-CLIP 2's dynamic
  bucket capped at 1024 patches as in the reference evaluation scripts, pack).
* The task fields of each record (labels, texts, captions: :attr:`TASK_KEYS`) are copied
  into the packed data sample's metainfo after the pipeline, together with
  ``eval_task`` and ``sample_idx`` (which the metrics order and de-duplicate by),
  whatever the pipeline's ``meta_keys``.
* Failed samples are never dropped silently. ``on_error='raise'`` (default) re-raises a
  loading error with the record index and path; ``on_error='count'`` returns a placeholder
  sample flagged ``load_failed=True`` (with ``load_error``): the predictor skips it and the
  metric counts it as wrong *and* reports ``num_failed``.
* Text rules of the benchmark live in ``metainfo``: ``eval_task``, ``lang``,
  ``text_walk``, ``lowercase`` and, for classification tasks, ``classes`` and
  ``templates`` (read by the predictor that encodes the vocabulary).
"""
import copy
from typing import List, Optional, Sequence, Union

import torch
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from fgclip2_mm.structures import FGCLIP2DataSample
from fgclip2_mm.text import load_templates
from fgclip2_mm.text.tokenization import WALK_TYPES

ON_ERROR = ('raise', 'count')
LANGS = ('en', 'zh')
LOAD_ERRORS = (OSError, ValueError)
#: Pipeline used when ``pipeline=None``.
DEFAULT_EVAL_PIPELINE = (
    dict(type='fgclip2_mm.FGCLIP2LoadImage'),
    dict(type='fgclip2_mm.FGCLIP2NaFlexPatchify', max_num_patches=1024),
    dict(type='fgclip2_mm.FGCLIP2PackInputs'),
)


class FGCLIP2EvalDataset(BaseDataset):
    """Base of the evaluation datasets (see the module docstring).

    Args:
        ann_file (str): Annotation file.
        lang (str): ``'en'`` or ``'zh'``.
        text_walk (str): Text walk of the benchmark (``'short'``, ``'box'``, ``'long'``).
        lowercase (bool): Lower-case the texts before tokenisation.
        templates (str | Sequence[str], optional): Prompt templates (classification tasks):
            a list, or the name of a bundled list (see
            :func:`fgclip2_mm.text.load_templates`).
        on_error (str): ``'raise'`` or ``'count'`` (see the module docstring).
        pipeline (Sequence[dict], optional): Defaults to :data:`DEFAULT_EVAL_PIPELINE`.
        **kwargs: ``data_root``, ``data_prefix`` (``dict(img_path=...)``), ``indices``,
            ``serialize_data``, ``lazy_init`` of :class:`mmengine.dataset.BaseDataset`.
    """

    TASK: str = ''
    #: Record keys copied into every data sample's metainfo.
    TASK_KEYS: Sequence[str] = ()

    def __init__(self,
                 ann_file: str,
                 lang: str = 'en',
                 text_walk: str = 'short',
                 lowercase: bool = True,
                 templates: Optional[Union[str, Sequence[str]]] = None,
                 on_error: str = 'raise',
                 pipeline: Optional[Sequence[dict]] = None,
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        if lang not in LANGS:
            raise ValueError(f'lang must be one of {LANGS}, got {lang!r}')
        if text_walk not in WALK_TYPES:
            raise ValueError(f'text_walk must be one of {WALK_TYPES}, got {text_walk!r}')
        if on_error not in ON_ERROR:
            raise ValueError(f'on_error must be one of {ON_ERROR}, got {on_error!r}')
        self.lang = lang
        self.on_error = on_error
        self.num_failed = 0
        meta = dict(eval_task=self.TASK, lang=lang, text_walk=text_walk,
                    lowercase=bool(lowercase))
        if templates is not None:
            meta['templates'] = tuple(load_templates(templates))
        # Applied in full_init: string values passed as ``metainfo`` would be tried as files.
        self._eval_meta = meta
        pipeline = copy.deepcopy(list(DEFAULT_EVAL_PIPELINE if pipeline is None else pipeline))
        super().__init__(
            ann_file=ann_file,
            data_prefix=copy.deepcopy(data_prefix) if data_prefix else dict(img_path=''),
            pipeline=pipeline,
            test_mode=True,
            **kwargs)

    def full_init(self) -> None:
        """Record the benchmark's text rules in the metainfo, then load the records."""
        self._metainfo.update(self._eval_meta)
        super().full_init()

    def set_classes(self, classes: Sequence[str]) -> None:
        """Record the class vocabulary (label order) in ``metainfo['classes']``."""
        self._metainfo['classes'] = tuple(classes)

    def _task_meta(self, info: dict) -> dict:
        meta = {key: info[key] for key in self.TASK_KEYS}
        meta.update(eval_task=self.TASK, sample_idx=info['sample_idx'])
        return meta

    def _placeholder(self, info: dict, error: Exception) -> dict:
        sample = FGCLIP2DataSample()
        sample.set_metainfo(
            dict(self._task_meta(info), img_path=info.get('img_path'), load_failed=True,
                 load_error=str(error)))
        return dict(inputs=torch.zeros(0, 0), data_samples=sample)

    def prepare_data(self, idx: int) -> dict:
        """Run the pipeline on record ``idx`` and attach its task fields.

        Args:
            idx (int): Record index.

        Returns:
            dict: ``inputs`` and ``data_samples`` (a placeholder with ``load_failed=True``
            when loading failed and ``on_error='count'``).
        """
        info = self.get_data_info(idx)
        original = copy.deepcopy(info)
        try:
            packed = self.pipeline(info)
        except LOAD_ERRORS as err:
            if self.on_error == 'raise':
                raise type(err)(f'{type(self).__name__}: record {idx} '
                                f'({original.get("img_path")}): {err}') from err
            self.num_failed += 1
            print_log(f'{type(self).__name__}: record {idx} ({original.get("img_path")}) '
                      f'failed to load and counts as wrong: {err}', logger='current',
                      level=30)
            return self._placeholder(original, err)
        packed['data_samples'].set_metainfo(self._task_meta(original))
        return packed

    @staticmethod
    def _log(message: str) -> None:
        print_log(message, logger='current')

    def load_data_list(self) -> List[dict]:  # pragma: no cover - abstract
        raise NotImplementedError
