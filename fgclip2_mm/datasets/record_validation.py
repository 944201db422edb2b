"""Validation of one FineHARD / Chinese-pair record, and the counters of what was skipped.

:func:`validate_record` turns a parsed record into the clean fields the datasets return,
or names why it cannot be used. Record-level problems drop the record; box-level problems
drop the box; a box whose hard negatives are unusable keeps its place for the region loss
and gets ``hard_negatives=None``. Nothing is dropped silently: every problem has a reason
code and is counted by :class:`SkipCounter`, which warns once per reason with the file and
record number.
"""
import math
import reprlib
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from mmengine.logging import print_log

from .record_index import RecordDecodeError, RecordIndex

LANGS = ('en', 'zh')
#: Record-level reasons (the record is dropped). The first eight come from the file reader
#: (``single_json_object``: a pretty-printed JSON object where JSON-lines were expected;
#: ``too_deep``: nesting deeper than the JSON decoder's recursion limit).
RECORD_REASONS = ('empty_file', 'truncated_file', 'trailing_data', 'single_json_object',
                  'invalid_utf8', 'invalid_json', 'too_deep', 'truncated_record',
                  'not_an_object', 'missing_key', 'bad_path', 'bad_caption', 'bad_bbox_info',
                  'bad_flag', 'lang_mismatch')
#: Box-level reasons (the box is dropped).
BOX_REASONS = ('box_malformed', 'box_out_of_range', 'box_inverted', 'box_zero_area',
               'box_bad_expr')
#: Hard-negative reasons (the box is kept, with ``hard_negatives=None``).
NEGATIVE_REASONS = ('negatives_wrong_count', 'negatives_malformed', 'negatives_bad_flag',
                    'negatives_equal_positive')
#: Load-time reasons (the sample is replaced or the load raises, see the datasets).
LOAD_REASONS = ('missing_image', 'unreadable_image', 'too_large', 'pipeline_returned_none')
#: Counted and warned like problems, but the record is kept (and never raises):
#: ``duplicate_record``, byte-identical to an earlier record of the same file (the
#: reference trains on every copy; whether they are wanted is the user's call).
KEPT_REASONS = ('duplicate_record', )
#: Every problem reason, in report order.
PROBLEM_REASONS = RECORD_REASONS + BOX_REASONS + NEGATIVE_REASONS + LOAD_REASONS + KEPT_REASONS
#: Facts worth counting that are not problems (never raise, never warn).
NOTE_KEYS = ('no_long_caption', 'no_long_expr', 'no_bbox_info', 'boxes_ignored',
             'boxes_without_negatives')


class BadRecordError(ValueError):
    """A record (or, at load time, its image) cannot be used.

    Attributes:
        reason (str): One of :data:`PROBLEM_REASONS`.
        where (str): ``'<file>: record <n>'``.
        detail (str): What is wrong.
    """

    def __init__(self, reason: str, where: str, detail: str) -> None:
        super().__init__(f'{where}: {reason}: {detail}')
        self.reason, self.where, self.detail = reason, where, detail


@dataclass(frozen=True)
class RecordSchema:
    """What a valid record looks like for one dataset.

    Args:
        lang (str): ``'en'`` or ``'zh'``. ``is_cn`` is read by value when present:
            ``true`` in an English dataset or ``false`` in a Chinese one is
            ``lang_mismatch``, a non-flag value (``"yes"``) is ``bad_flag``.
        require_bbox_info (bool): A record without ``bbox_info`` is ``missing_key``
            (otherwise it gets ``regions=[]``, counted as ``no_bbox_info``).
        keep_boxes (bool): Parse ``bbox_info``; when False the boxes are ignored and
            counted as ``boxes_ignored`` (what the reference does for Chinese records).
        box_tolerance (float): Coordinates may leave [0, 1] by this much (then they are
            clamped); further out is ``box_out_of_range``.
        num_negatives (int): Hard negatives a box must have. Defaults to 10.
    """
    lang: str
    require_bbox_info: bool = True
    keep_boxes: bool = True
    box_tolerance: float = 0.01
    num_negatives: int = 10

    def __post_init__(self) -> None:
        if self.lang not in LANGS:
            raise ValueError(f'lang must be one of {LANGS}, got {self.lang!r}')
        if not (isinstance(self.box_tolerance, (int, float)) and 0 <= self.box_tolerance < 1):
            raise ValueError(f'box_tolerance must be a number in [0, 1), got '
                             f'{self.box_tolerance!r}')
        if isinstance(self.num_negatives, bool) or not isinstance(self.num_negatives, int) \
                or self.num_negatives < 1:
            raise ValueError(f'num_negatives must be a positive int, got {self.num_negatives!r}')

    def key(self) -> str:
        """A string identifying the schema (part of the validation cache key)."""
        return (f'{self.lang}|{self.require_bbox_info}|{self.keep_boxes}|'
                f'{float(self.box_tolerance)!r}|{self.num_negatives}')


@dataclass
class Validated:
    """Result of :func:`validate_record`.

    ``record`` is None exactly when ``reason`` is set. ``record`` holds ``f_path``,
    ``caption_short``, ``caption_long`` (str or None), ``regions`` (every valid box in
    record order: ``bbox`` [x1, y1, x2, y2] floats in [0, 1], ``short_expr``,
    ``long_expr`` (str or None), ``hard_negatives`` (list of ``num_negatives`` str, or
    None)) and ``img_size`` ((height, width) from optional ``height``/``width`` keys, or
    None).
    """
    record: Optional[Dict[str, Any]] = None
    reason: Optional[str] = None
    detail: str = ''
    problems: Counter = field(default_factory=Counter)  # box and negative reasons
    problem_details: Dict[str, str] = field(default_factory=dict)
    notes: Counter = field(default_factory=Counter)


_SHOW = reprlib.Repr()
_SHOW.maxstring = _SHOW.maxother = 120
_SHOW.maxlevel = 3


def show(value) -> str:
    """A short ``repr`` of a record value for messages (bounded length and depth, so a
    huge or deeply nested value never floods the log nor recurses)."""
    return _SHOW.repr(value)


def _flag(value) -> Optional[bool]:
    """A JSON flag: ``true``/``false`` or the integers 0/1; None for anything else (a
    string such as ``"0"`` is not a flag: it would be truthy)."""
    if type(value) is bool:
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    return None


def _text(value) -> Optional[str]:
    """The string if it is a non-blank str, else None."""
    return value if isinstance(value, str) and value.strip() else None


def _finite(value) -> bool:
    """An int or float (not a bool, not a string) that is finite."""
    return type(value) in (int, float) and math.isfinite(value)


def _clamp(value: float) -> float:
    return 0.0 if value < 0.0 else 1.0 if value > 1.0 else value


def _check_bbox(bbox, tol: float):
    """``(clean xyxy, None)`` or ``(None, (reason, detail))`` (written for speed: it runs
    for every box of every record in the validation pass)."""
    if type(bbox) not in (list, tuple) or len(bbox) < 4 or not (
            _finite(bbox[0]) and _finite(bbox[1]) and _finite(bbox[2]) and _finite(bbox[3])):
        return None, ('box_malformed', f'bbox must be a list of >= 4 finite numbers, '
                                       f'got {show(bbox)}')
    x1, y1, x2, y2 = float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3])
    if x2 < x1 or y2 < y1:
        return None, ('box_inverted', f'x2 < x1 or y2 < y1 in {list(bbox[:4])}')
    if x1 < -tol or y1 < -tol or x2 > 1 + tol or y2 > 1 + tol:
        return None, ('box_out_of_range', f'{list(bbox[:4])} leaves [0, 1] by more than '
                                          f'the tolerance {tol}')
    x1, y1, x2, y2 = _clamp(x1), _clamp(y1), _clamp(x2), _clamp(y2)
    if not (x2 > x1 and y2 > y1):
        return None, ('box_zero_area', f'zero area after clamping to [0, 1]: '
                                       f'{[x1, y1, x2, y2]}')
    return [x1, y1, x2, y2], None


def _negatives(box: dict, num: int):
    """``(list | None, problem | None)`` for one box's hard negatives."""
    negs = box.get('short_expr_negs')
    raw_flag = box.get('flag_short_neg')
    flag = _flag(negs is not None if raw_flag is None else raw_flag)
    if flag is None:
        return None, ('negatives_bad_flag', 'flag_short_neg must be true/false or 0/1, got '
                                            f'{show(box.get("flag_short_neg"))}')
    if not flag:
        return None, None
    if negs is None:
        negs = []
    elif isinstance(negs, dict):
        negs = list(negs.values())  # insertion order, as the reference iterates it
    if type(negs) is not list or not all(type(n) is str and n.strip() for n in negs):
        return None, ('negatives_malformed', 'short_expr_negs must be a dict (or list) of '
                                             f'non-empty str, got {show(box.get("short_expr_negs"))}')
    if len(negs) != num:
        return None, ('negatives_wrong_count', f'{len(negs)} hard negatives, expected {num}')
    positive = box['short_expr'].strip().lower()
    same = [k for k, n in enumerate(negs) if n.strip().lower() == positive]
    if same:
        return None, ('negatives_equal_positive', f'hard negative(s) {same} equal the '
                                                  f'short_expr {show(box["short_expr"])}')
    return negs, None


def _regions(bbox_info: list, schema: RecordSchema, out: Validated) -> List[dict]:
    regions = []
    for k, box in enumerate(bbox_info):
        if not isinstance(box, dict):
            problem = ('box_malformed', f'not an object: {show(box)}')
            clean = None
        else:
            clean, problem = _check_bbox(box.get('bbox'), schema.box_tolerance)
            if clean is not None and _text(box.get('short_expr')) is None:
                clean, problem = None, ('box_bad_expr', 'short_expr must be a non-empty str, '
                                                        f'got {show(box.get("short_expr"))}')
        if clean is None:
            out.problems[problem[0]] += 1
            out.problem_details.setdefault(problem[0], f'box {k}: {problem[1]}')
            continue
        long_expr = box.get('long_expr')
        if long_expr is not None and not isinstance(long_expr, str):
            out.problems['box_bad_expr'] += 1
            out.problem_details.setdefault('box_bad_expr', f'box {k}: long_expr must be a '
                                                           f'str, got {show(long_expr)}')
            continue
        negatives, problem = _negatives(box, schema.num_negatives)
        if problem is not None:
            out.problems[problem[0]] += 1
            out.problem_details.setdefault(problem[0], f'box {k}: {problem[1]}')
        if negatives is None:
            out.notes['boxes_without_negatives'] += 1
        if _text(long_expr) is None:
            out.notes['no_long_expr'] += 1
        regions.append({'bbox': clean, 'short_expr': box['short_expr'],
                        'long_expr': _text(long_expr), 'hard_negatives': negatives})
    return regions


def _image_size(raw: dict) -> Optional[tuple]:
    height, width = raw.get('height'), raw.get('width')
    if all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (height, width)):
        return int(height), int(width)
    return None


def validate_record(raw: Any, schema: RecordSchema) -> Validated:
    """Validate one parsed record against ``schema``.

    Args:
        raw (Any): The parsed JSON value of one record.
        schema (RecordSchema): The dataset's expectations.

    Returns:
        Validated: The clean record, or the reason it is dropped (with a detail naming
        the field). Box-level problems and notes are counted even for a kept record.
    """
    out = Validated()

    def drop(reason: str, detail: str) -> Validated:
        out.reason, out.detail = reason, detail
        return out

    if not isinstance(raw, dict):
        return drop('not_an_object', f'a record must be a JSON object, got '
                                     f'{type(raw).__name__}')
    required = ('f_path', 'short_caption') + (('bbox_info', ) if schema.keep_boxes and
                                              schema.require_bbox_info else ())
    missing = [k for k in required if k not in raw]
    if missing:
        return drop('missing_key', f'missing key(s) {missing}; present: {show(sorted(raw))}')
    if _text(raw['f_path']) is None:
        return drop('bad_path', f'f_path must be a non-empty str, got {show(raw["f_path"])}')
    if 'is_cn' in raw:  # read by value: "is_cn": false is an English record
        is_cn = _flag(raw['is_cn'])
        if is_cn is None:
            return drop('bad_flag', f'is_cn must be true/false or 0/1, got {show(raw["is_cn"])}')
        if is_cn != (schema.lang == 'zh'):
            return drop('lang_mismatch', f'record has "is_cn": {show(raw["is_cn"])} in '
                                         f'{"a Chinese" if schema.lang == "zh" else "an English"}'
                                         ' dataset')
    short = _text(raw['short_caption'])
    if short is None:
        return drop('bad_caption', f'short_caption must be a non-empty str, got '
                                   f'{show(raw["short_caption"])}')
    long = raw.get('caption')
    if long is not None and not isinstance(long, str):
        return drop('bad_caption', f'caption must be a str or null, got {show(long)}')
    if _text(long) is None:
        out.notes['no_long_caption'] += 1
    bbox_info = raw.get('bbox_info')
    regions = []
    if bbox_info is None:
        out.notes['no_bbox_info'] += 1
    elif not isinstance(bbox_info, list):
        return drop('bad_bbox_info', f'bbox_info must be a list, got {type(bbox_info).__name__}')
    elif not schema.keep_boxes:
        out.notes['boxes_ignored'] += len(bbox_info)
    else:
        regions = _regions(bbox_info, schema, out)
    out.record = {'f_path': raw['f_path'], 'caption_short': short, 'caption_long': _text(long),
                  'regions': regions, 'img_size': _image_size(raw)}
    return out


class SkipCounter:
    """Counts of problems and notes, with one warning per problem reason.

    The first occurrence of each reason is logged (mmengine logger, WARNING) with where it
    happened; later ones are only counted and appear in :meth:`summary`.

    Args:
        owner (str): Prefix of every message (the dataset's name).
        quiet (bool): Count without warning (for passes whose counts are replayed later).
    """

    def __init__(self, owner: str, quiet: bool = False) -> None:
        self.owner = owner
        self.quiet = quiet
        self.counts: Counter = Counter()
        self.notes: Counter = Counter()
        self.examples: Dict[str, List[str]] = {}

    def add(self, reason: str, where: str, detail: str, count: int = 1) -> None:
        """Count ``count`` cases of ``reason``; warn on the first one."""
        if reason not in PROBLEM_REASONS:
            raise ValueError(f'unknown reason {reason!r}; expected one of {PROBLEM_REASONS}')
        if reason not in self.examples:
            self.examples[reason] = [where, detail]
            if not self.quiet:
                print_log(f'{self.owner}: {reason} at {where}: {detail} (further cases '
                          'are counted in the summary)', logger='current', level=30)
        self.counts[reason] += count

    def replay(self, counts: Dict[str, int], examples: Dict[str, List[str]],
               notes: Dict[str, int]) -> None:
        """Merge counts saved earlier (e.g. in a cache), warning for new reasons."""
        for reason, count in counts.items():
            where, detail = examples.get(reason, ('unknown', 'no example saved'))
            self.add(reason, where, detail, count)
        self.notes.update(notes)

    def summary(self) -> str:
        """One line: problem counts in :data:`PROBLEM_REASONS` order, then notes."""
        problems = ', '.join(f'{r}={self.counts[r]}' for r in PROBLEM_REASONS if self.counts[r])
        notes = ', '.join(f'{k}={self.notes[k]}' for k in NOTE_KEYS if self.notes[k])
        return f'problems: {problems or "none"}; notes: {notes or "none"}'


def validate_file(index: RecordIndex, schema: RecordSchema, on_bad_record: str,
                  owner: str) -> Tuple[Dict[str, np.ndarray], dict]:
    """Parse and validate every record of one file (sequential block reads).

    Args:
        index (RecordIndex): The file's index.
        schema (RecordSchema): Expectations.
        on_bad_record (str): ``'raise'`` raises :class:`BadRecordError` at the first
            problem (box-level ones included); ``'skip'`` counts.
        owner (str): Name used in messages.

    Returns:
        tuple: arrays ``valid`` (int64 record numbers of the usable records) and ``sizes``
        (int32 (M, 2) ``(height, width)`` from the records, 0 when absent), and meta
        ``counts``, ``examples`` (reason -> [where, detail]) and ``notes`` (JSON-able).
    """
    counter = SkipCounter(owner, quiet=True)

    def problem(reason: str, where: str, detail: str, count: int = 1) -> None:
        if on_bad_record == 'raise':
            raise BadRecordError(reason, where, detail)
        counter.add(reason, where, detail, count)

    ids, hw, digests = array('q'), array('i'), array('q')
    for i, data in index.iter_raw():
        where = f'{index.path}: record {i}'
        try:
            result = validate_record(index.decode(i, data), schema)
        except RecordDecodeError as err:
            problem(err.reason, where, err.detail)
            continue
        for reason, count in result.problems.items():
            problem(reason, where, result.problem_details[reason], count)
        counter.notes.update(result.notes)
        if result.reason:
            problem(result.reason, where, result.detail)
            continue
        ids.append(i)
        hw.extend(result.record['img_size'] or (0, 0))
        digests.append(hash(data.strip()))
    valid = np.frombuffer(ids, np.int64).copy() if ids else np.zeros(0, np.int64)
    sizes = np.frombuffer(hw, np.int32).copy() if hw else np.zeros(0, np.int32)
    sizes = sizes.reshape(-1, 2)
    duplicates = _duplicates(index, valid, np.frombuffer(digests, np.int64) if digests else
                             np.zeros(0, np.int64))
    for position, first in duplicates:  # kept: counted and reported only
        counter.add('duplicate_record', f'{index.path}: record {int(valid[position])}',
                    f'byte-identical to record {int(valid[first])} (every copy is kept)')
    meta = dict(counts=dict(counter.counts), examples=counter.examples,
                notes=dict(counter.notes))
    return {'valid': valid, 'sizes': sizes}, meta


def _duplicates(index: RecordIndex, valid: np.ndarray, digests: np.ndarray) -> list:
    """``[(position, position of the first copy)]`` of the records (positions in
    ``valid``) whose bytes repeat an earlier one; hash matches are confirmed on the bytes."""
    if len(digests) < 2:
        return []
    order = np.argsort(digests, kind='stable')
    same = np.flatnonzero(digests[order][1:] == digests[order][:-1]) + 1
    found, firsts = [], {}
    for k in same.tolist():
        position, candidate = int(order[k]), int(order[k - 1])
        first = firsts.get(candidate, candidate)
        if index.read(int(valid[position])).strip() == index.read(int(valid[first])).strip():
            found.append((position, first))
            firsts[position] = first
    return sorted(found)
