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
import math
from typing import Optional

import numpy as np
from mmengine.logging import print_log

from ...registry import TRANSFORMS

LANGS = ('en', 'zh')
EXPR_CHOICES = ('random', 'short', 'long')
BOX_SAMPLING = ('first', 'random')


def _record_name(results: dict) -> str:
    return f'{results.get("img_path", "?")} (sample_idx {results.get("sample_idx", "?")})'


@TRANSFORMS.register_module()
class FGCLIP2SampleRegions:
    """Choose region boxes and expressions, and lay the texts out in fixed slots.

    Per record:

    * ``short_text``: ``caption_short``, with ``en_short_prefix`` prepended for English
      records (the FineHARD convention ``"a photo of "``; never for Chinese).
    * ``long_text`` / ``long_valid``: ``caption_long``, or ``''`` and False when it is None
      (the sigmoid loss then drops that long-caption column).
    * regions: at most ``max_boxes`` are kept (``box_sampling='first'``: the first ones,
      as the reference; ``'random'``: a random subset, in record order); for each kept box
      the region text is its ``short_expr`` or ``long_expr``, chosen uniformly at random
      (``expr_choice='random'``, spec 5.2; a box without ``long_expr`` uses the short one).
    * hard negatives: a kept box whose ``hard_negatives`` is a list of exactly
      ``num_negatives`` strings gets the ``1 + num_negatives`` texts ``[short_expr,
      *hard_negatives]`` (the positive is always the **short** expression, as in the
      reference); ``None`` means no hard negatives; any other count masks the slot, with a
      warning naming the record and a running count (never a silent drop). At most
      ``max_hard_boxes`` slots (the first kept ones) are hard slots.
    * ``lowercase``: every text -- captions, the positive **and** its negatives -- is
      lower-cased the same way (reference bug 14 lower-cased the negatives only; Chinese is
      unchanged by ``str.lower``).

    Required keys: ``lang``, ``caption_short``; optional ``caption_long``, ``regions``.

    Added keys (K = ``max_boxes``, T = ``1 + num_negatives``):

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
        num_negatives (int): Negatives per hard box. Defaults to 10 (11 texts per box).
        expr_choice (str): ``'random'``, ``'short'`` or ``'long'``. Defaults to
            ``'random'``.
        box_sampling (str): ``'first'`` or ``'random'``. Defaults to ``'first'``.
        en_short_prefix (str): Prefix of English short captions. Defaults to
            ``'a photo of '``.
        lowercase (bool): Lower-case every text. Defaults to True.
    """

    def __init__(self,
                 max_boxes: int = 4,
                 max_hard_boxes: Optional[int] = None,
                 num_negatives: int = 10,
                 expr_choice: str = 'random',
                 box_sampling: str = 'first',
                 en_short_prefix: str = 'a photo of ',
                 lowercase: bool = True) -> None:
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
        if box_sampling not in BOX_SAMPLING:
            raise ValueError(f'box_sampling must be one of {BOX_SAMPLING}, got '
                             f'{box_sampling!r}')
        if not isinstance(en_short_prefix, str):
            raise ValueError(f'en_short_prefix must be a str, got {en_short_prefix!r}')
        self.max_boxes = max_boxes
        self.max_hard_boxes = max_hard_boxes
        self.num_negatives = num_negatives
        self.expr_choice = expr_choice
        self.box_sampling = box_sampling
        self.en_short_prefix = en_short_prefix
        self.lowercase = bool(lowercase)
        self.num_masked_hard = 0  # per process: hard slots masked for a wrong count

    def _text(self, text: str) -> str:
        return text.lower() if self.lowercase else text

    @staticmethod
    def _check_str(value, results: dict, field: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f'FGCLIP2SampleRegions: {_record_name(results)}: {field} must be '
                             f'a non-empty str, got {value!r}')
        return value

    def _check_box(self, bbox, results: dict, index: int) -> np.ndarray:
        box = np.asarray(bbox, dtype=np.float64).reshape(-1)[:4] if bbox is not None else None
        ok = (box is not None and box.size == 4 and all(math.isfinite(v) for v in box)
              and 0 <= box[0] < box[2] <= 1 and 0 <= box[1] < box[3] <= 1)
        if not ok:
            raise ValueError(f'FGCLIP2SampleRegions: {_record_name(results)}: regions[{index}]'
                             f'.bbox must be normalised xyxy with 0 <= x1 < x2 <= 1 and '
                             f'0 <= y1 < y2 <= 1, got {bbox!r}')
        return box.astype(np.float32)

    def _pick(self, regions: list) -> list:
        """Indices of the kept regions (record order)."""
        if len(regions) <= self.max_boxes:
            return list(range(len(regions)))
        if self.box_sampling == 'first':
            return list(range(self.max_boxes))
        return sorted(np.random.choice(len(regions), self.max_boxes, replace=False).tolist())

    def _region_text(self, region: dict, results: dict, index: int) -> str:
        short = self._check_str(region.get('short_expr'), results, f'regions[{index}].short_expr')
        long = region.get('long_expr')
        if long is not None:
            long = self._check_str(long, results, f'regions[{index}].long_expr')
        use_long = long is not None and (self.expr_choice == 'long' or (
            self.expr_choice == 'random' and np.random.rand() < 0.5))
        return self._text(long if use_long else short)

    def _hard_texts(self, region: dict, results: dict, index: int) -> Optional[list]:
        negatives = region.get('hard_negatives')
        if negatives is None:
            return None
        if not isinstance(negatives, (list, tuple)) or len(negatives) != self.num_negatives:
            self.num_masked_hard += 1
            count = len(negatives) if isinstance(negatives, (list, tuple)) else negatives
            print_log(f'FGCLIP2SampleRegions: {_record_name(results)}: regions[{index}] has '
                      f'{count!r} hard negatives, expected {self.num_negatives}; its hard '
                      f'slot is masked ({self.num_masked_hard} masked in this process)',
                      logger='current', level=30)
            return None
        positive = self._text(region['short_expr'])
        return [positive] + [
            self._text(self._check_str(n, results, f'regions[{index}].hard_negatives[{j}]'))
            for j, n in enumerate(negatives)
        ]

    def transform(self, results: dict) -> dict:
        """Build the slots (see the class docstring for the keys).

        Args:
            results (dict): Result dict with the raw record fields.

        Returns:
            dict: The same dict with the added keys.
        """
        lang = results.get('lang')
        if lang not in LANGS:
            raise ValueError(f'FGCLIP2SampleRegions: {_record_name(results)}: lang must be one '
                             f'of {LANGS}, got {lang!r}')
        short = self._check_str(results.get('caption_short'), results, 'caption_short')
        if lang == 'en':
            short = self.en_short_prefix + short
        results['short_text'] = self._text(short)
        long = results.get('caption_long')
        if long is not None:
            long = self._text(self._check_str(long, results, 'caption_long'))
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
        for slot, index in enumerate(self._pick(regions)):
            region = regions[index]
            if not isinstance(region, dict):
                raise ValueError(f'FGCLIP2SampleRegions: {_record_name(results)}: regions['
                                 f'{index}] must be a dict, got {type(region).__name__}')
            boxes[slot] = self._check_box(region.get('bbox'), results, index)
            region_texts[slot] = self._region_text(region, results, index)
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
                f'expr_choice={self.expr_choice!r}, box_sampling={self.box_sampling!r}, '
                f'en_short_prefix={self.en_short_prefix!r}, lowercase={self.lowercase})')
