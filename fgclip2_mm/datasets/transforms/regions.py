"""``FGCLIP2SampleRegions``: raw pretraining fields -> fixed text slots and validity masks.

The pretraining datasets (FineHARD records, Chinese pairs, mixtures) yield raw fields:
``img_path``, ``sample_idx``, ``lang`` (``'en'`` | ``'zh'``), ``caption_short`` (English
*without* the ``"a photo of "`` prefix), ``caption_long`` (str or None) and ``regions``, a
list of ``{bbox: normalised xyxy, short_expr, long_expr (or None), hard_negatives (list of
str, or None)}``. This transform turns them into the fixed-shape layout the model batches
without Python loops (spec sections 3.3, 3.5, 5.2 and 5.4):

* ``K = max_boxes`` region **slots** per image, always K (padding slots are invalid);
* the hard-negative slots are the **same** K slots (masked, not compacted): slot k's hard
  texts belong to region k, so one RoIAlign of the K slots serves the region loss and the
  hard-negative loss (the reference compacts hard boxes into their own slots and pools
  them a second time).
"""
import warnings
from typing import Optional

import numpy as np
from mmengine.logging import print_log

from ...registry import TRANSFORMS

LANGS = ('en', 'zh')
EXPR_CHOICES = ('random', 'short', 'long')
#: ``box_selection`` values (``box_sampling`` is its retired alias).
BOX_SELECTION = ('first', 'random')


def _record_name(results: dict) -> str:
    return f'{results.get("img_path", "?")} (sample_idx {results.get("sample_idx", "?")})'


def _retired(name: str, detail: str) -> None:
    message = f'FGCLIP2SampleRegions: {name} is deprecated; {detail}'
    warnings.warn(message, DeprecationWarning, stacklevel=3)
    print_log(message, logger='current', level=30)


@TRANSFORMS.register_module()
class FGCLIP2SampleRegions:
    """Choose region boxes, expressions and hard slots, and lay the texts out in fixed
    slots: the one owner of box selection and of the hard-negative slots.

    The input is a **validated** record, as the pretraining datasets return it
    (:class:`~fgclip2_mm.datasets.record_dataset.FGCLIP2RecordDataset`): every usable box,
    in record order, with clean normalised boxes, non-empty expressions and either exactly
    ``num_negatives`` hard negatives or None (the dataset validated, counted and reported
    everything else, see :mod:`~fgclip2_mm.datasets.record_validation`). Per record:

    * ``short_text``: ``caption_short``, with ``en_short_prefix`` prepended for English
      records (the FineHARD convention ``"a photo of "``; never for Chinese).
    * ``long_text`` / ``long_valid``: ``caption_long``, or ``''`` and False when it is None
      (the sigmoid loss then drops that long-caption column).
    * regions: at most ``max_boxes`` are kept (``box_selection='first'``: the first ones,
      as the reference; ``'random'``: a subset drawn with ``np.random`` per load, kept in
      record order); for each kept box the region text is its ``short_expr`` or
      ``long_expr``, chosen uniformly at random (``expr_choice='random'``, spec 5.2; a box
      without ``long_expr`` uses the short one).
    * hard negatives: a kept box with ``hard_negatives`` gets the ``1 + num_negatives``
      texts ``[short_expr, *hard_negatives]`` (the positive is always the **short**
      expression, as in the reference); ``None`` means no hard slot. At most
      ``max_hard_boxes`` slots (the first kept ones) are hard slots. A list of another
      length breaks the dataset contract (the dataset's ``num_negatives`` differs from this
      one) and raises ``ValueError``.
    * Texts keep their case: lower-casing belongs to the tokenizer
      (:class:`~fgclip2_mm.datasets.FGCLIP2Tokenizer`, ``lowercase=True`` by default), which
      lower-cases captions, positives and negatives alike (reference bug 14 lower-cased the
      negatives only).

    Required keys: ``lang``, ``caption_short``; optional ``caption_long``, ``regions``.

    Added keys (K = ``max_boxes``, T = ``1 + num_negatives``; the pipeline keys of
    :mod:`fgclip2_mm.structures.batch_keys`):

    - ``short_text`` (str), ``long_text`` (str), ``long_valid`` (np.bool_)
    - ``region_texts`` (list[str], K): ``''`` in invalid slots
    - ``region_boxes`` (np.ndarray): float32 (K, 4) normalised xyxy, zeros when invalid
    - ``region_valid`` (np.ndarray): bool (K,), valid slots first
    - ``hard_texts`` (list[list[str]], K x T): ``''`` in invalid slots
    - ``hard_valid`` (np.ndarray): bool (K,), True only where ``region_valid`` is

    Randomness comes from ``np.random`` (seeded per dataloader worker by mmengine).

    Args:
        max_boxes (int): Region slots K. Defaults to 4 (the reference's ``max_anns``).
            0 keeps the captions only (stage 1): no region key is added.
        max_hard_boxes (int, optional): Cap on hard slots per image (<= max_boxes).
            Defaults to None (every kept box with negatives).
        num_negatives (int): Negatives per hard box. Defaults to 10 (11 texts per box). The
            pretraining datasets validate against this value when this transform is in
            their pipeline.
        expr_choice (str): ``'random'``, ``'short'`` or ``'long'``. Defaults to
            ``'random'``.
        box_selection (str): ``'first'`` or ``'random'``. Defaults to ``'first'``.
        en_short_prefix (str): Prefix of English short captions. Defaults to
            ``'a photo of '``.
        box_sampling (str, optional): Deprecated alias of ``box_selection``.
        lowercase (bool, optional): Deprecated and ignored (the tokenizer lower-cases; set
            ``FGCLIP2Tokenize(tokenizer=dict(..., lowercase=...))``).
    """

    def __init__(self,
                 max_boxes: int = 4,
                 max_hard_boxes: Optional[int] = None,
                 num_negatives: int = 10,
                 expr_choice: str = 'random',
                 box_selection: Optional[str] = None,
                 en_short_prefix: str = 'a photo of ',
                 box_sampling: Optional[str] = None,
                 lowercase: Optional[bool] = None) -> None:
        for name, value, low in (('max_boxes', max_boxes, 0), ('num_negatives', num_negatives,
                                                               1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f'{name} must be an int >= {low}, got {value!r}')
        if max_hard_boxes is None:
            max_hard_boxes = max_boxes
        if isinstance(max_hard_boxes, bool) or not isinstance(max_hard_boxes, int) or \
                not 0 <= max_hard_boxes <= max_boxes:
            raise ValueError(f'max_hard_boxes must be an int in [0, max_boxes={max_boxes}], '
                             f'got {max_hard_boxes!r}')
        if expr_choice not in EXPR_CHOICES:
            raise ValueError(f'expr_choice must be one of {EXPR_CHOICES}, got {expr_choice!r}')
        if box_sampling is not None:
            if box_selection is not None and box_selection != box_sampling:
                raise ValueError(f'box_sampling={box_sampling!r} (deprecated alias) contradicts '
                                 f'box_selection={box_selection!r}; set box_selection only')
            _retired('box_sampling', f'use box_selection={box_sampling!r}')
            box_selection = box_sampling
        box_selection = 'first' if box_selection is None else box_selection
        if box_selection not in BOX_SELECTION:
            raise ValueError(f'box_selection must be one of {BOX_SELECTION}, got '
                             f'{box_selection!r}')
        if lowercase is not None:
            _retired('lowercase', 'the argument is ignored: FGCLIP2Tokenize\'s tokenizer '
                     'lower-cases every text (FGCLIP2Tokenizer lowercase=True by default)')
        if not isinstance(en_short_prefix, str):
            raise ValueError(f'en_short_prefix must be a str, got {en_short_prefix!r}')
        self.max_boxes = max_boxes
        self.max_hard_boxes = max_hard_boxes
        self.num_negatives = num_negatives
        self.expr_choice = expr_choice
        self.box_selection = box_selection
        self.en_short_prefix = en_short_prefix

    @property
    def box_sampling(self) -> str:
        """str: Deprecated alias of :attr:`box_selection`."""
        return self.box_selection

    def select(self, num_regions: int) -> list:
        """Indices of the kept regions among ``num_regions`` (record order).

        ``'random'`` draws one ``np.random.choice(num_regions, max_boxes, replace=False)``
        only when there are more regions than slots.
        """
        if num_regions <= self.max_boxes:
            return list(range(num_regions))
        if self.box_selection == 'first':
            return list(range(self.max_boxes))
        return sorted(np.random.choice(num_regions, self.max_boxes, replace=False).tolist())

    def _region_text(self, region: dict) -> str:
        long = region.get('long_expr')
        use_long = long is not None and (self.expr_choice == 'long' or (
            self.expr_choice == 'random' and np.random.rand() < 0.5))
        return long if use_long else region['short_expr']

    def _hard_texts(self, region: dict, results: dict, index: int) -> Optional[list]:
        negatives = region.get('hard_negatives')
        if negatives is None:
            return None
        if not isinstance(negatives, (list, tuple)) or len(negatives) != self.num_negatives:
            count = len(negatives) if isinstance(negatives, (list, tuple)) else negatives
            raise ValueError(
                f'FGCLIP2SampleRegions: {_record_name(results)}: regions[{index}] has '
                f'{count!r} hard negatives, expected None or {self.num_negatives} '
                '(num_negatives): the pretraining datasets validate the count (a wrong one '
                'is counted as negatives_wrong_count and yields None); give the dataset and '
                'this transform the same num_negatives')
        return [region['short_expr'], *negatives]

    def transform(self, results: dict) -> dict:
        """Build the slots (see the class docstring for the keys).

        Args:
            results (dict): Result dict with the validated record fields.

        Returns:
            dict: The same dict with the added keys.
        """
        lang = results.get('lang')
        if lang not in LANGS:
            raise ValueError(f'FGCLIP2SampleRegions: {_record_name(results)}: lang must be one '
                             f'of {LANGS}, got {lang!r}')
        short = results.get('caption_short')
        if not isinstance(short, str):
            raise ValueError(f'FGCLIP2SampleRegions: {_record_name(results)}: caption_short '
                             f'must be a str, got {short!r}')
        results['short_text'] = self.en_short_prefix + short if lang == 'en' else short
        long = results.get('caption_long')
        results['long_text'] = '' if long is None else long
        results['long_valid'] = np.bool_(long is not None)
        if self.max_boxes == 0:
            return results

        regions = results.get('regions') or []
        if not isinstance(regions, (list, tuple)):
            raise ValueError(f'FGCLIP2SampleRegions: {_record_name(results)}: regions must be '
                             f'a list, got {type(regions).__name__}')
        k, texts_per_box = self.max_boxes, 1 + self.num_negatives
        boxes = np.zeros((k, 4), dtype=np.float32)
        region_valid = np.zeros(k, dtype=bool)
        hard_valid = np.zeros(k, dtype=bool)
        region_texts = [''] * k
        hard_texts = [[''] * texts_per_box for _ in range(k)]
        for slot, index in enumerate(self.select(len(regions))):
            region = regions[index]
            boxes[slot] = region['bbox']
            region_texts[slot] = self._region_text(region)
            region_valid[slot] = True
            if int(hard_valid.sum()) < self.max_hard_boxes:
                texts = self._hard_texts(region, results, index)
                if texts is not None:
                    hard_texts[slot] = texts
                    hard_valid[slot] = True
        results.update(region_boxes=boxes, region_valid=region_valid, region_texts=region_texts,
                       hard_texts=hard_texts, hard_valid=hard_valid)
        return results

    def __call__(self, results: dict) -> dict:
        return self.transform(results)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(max_boxes={self.max_boxes}, '
                f'max_hard_boxes={self.max_hard_boxes}, num_negatives={self.num_negatives}, '
                f'expr_choice={self.expr_choice!r}, box_selection={self.box_selection!r}, '
                f'en_short_prefix={self.en_short_prefix!r})')
