"""``FGCLIP2RecordDataset``: the shared machinery of the FineHARD and Chinese-pair datasets.

Not an mmengine ``BaseDataset``: that class holds a Python list of dicts (or its pickled
bytes) and, when the pipeline returns None, silently retries a *random* index of the whole
dataset (which, in a bilingual mixture, can swap a Chinese sample into an English batch).
Here the records stay on disk behind a :class:`~.record_index.RecordIndex`, the dataset
keeps numpy arrays only (memory-mapped from the cache when there is one), and every
skipped or replaced sample is counted and logged.

Life cycle:

0. The constructor resolves the annotation files and raises one ``FileNotFoundError``
   listing every missing path and how to get the data (also with ``lazy_init``).
1. ``full_init()`` (called by the constructor unless ``lazy_init``; the Runner calls it
   too): index every file; with ``validate_on_init``
   parse and validate every record once (cached next to the index, keyed by the file's
   size and mtime and the schema) so bad records never reach the sampler; log one summary.
2. ``get_data_info(idx)``: read + parse + validate one record (raises
   :class:`~.record_validation.BadRecordError`).
3. ``__getitem__(idx)``: ``pipeline(get_data_info(idx))``; a failure at load time (bad
   record, ``FileNotFoundError``/``OSError`` from the pipeline -- a missing, truncated or
   corrupt image -- or a pipeline returning None) follows ``on_load_error``.
"""
import copy
import hashlib
import json
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmengine.dataset import Compose
from mmengine.logging import print_log
from torch.utils.data import Dataset

from .load_counts import LoadCounts
from .record_index import DEFAULT_FILE_GLOB, RecordDecodeError, RecordIndex, SharedArray, \
    cache_stem, load_cache, resolve_files, save_cache, source_signature
from .record_validation import KEPT_REASONS, LANGS, BadRecordError, RecordSchema, \
    SkipCounter, validate_file, validate_record
from .transforms.loading import FGCLIP2LoadImage, ImageTooLargeError
from .transforms.regions import BOX_SELECTION, FGCLIP2SampleRegions

ON_BAD_RECORD = ('skip', 'raise')
ON_LOAD_ERROR = ('replace', 'raise')
VALIDATION_VERSION = 2
DEFAULT_NUM_NEGATIVES = 10
#: Dataset options that moved to ``FGCLIP2SampleRegions`` (the one owner of box selection).
RETIRED_BOX_OPTIONS = ('max_boxes', 'box_selection')


class FGCLIP2RecordDataset(Dataset):
    """Lazy, validated, indexed dataset of FineHARD-schema records (see module docstring).

    ``get_data_info(idx)`` returns exactly these validated fields (the pretraining
    transforms' contract), plus ``dataset_id``:

    - ``img_path`` (str): absolute path ``data_root / data_prefix['img_path'] / f_path``.
    - ``sample_idx`` (int): index in this dataset (in a mixture: in the mixture).
    - ``lang`` (str): ``'en'`` or ``'zh'``.
    - ``caption_short`` (str): ``short_caption`` as stored (no ``"a photo of "`` prefix).
    - ``caption_long`` (str | None): ``caption``; None when missing or blank.
    - ``regions`` (list[dict]): every valid box, in record order: ``bbox`` normalised
      [x1, y1, x2, y2] floats in [0, 1] (clamped within ``box_tolerance``), ``short_expr``
      (non-empty str), ``long_expr`` (non-empty str | None), ``hard_negatives`` (list of
      exactly ``num_negatives`` non-empty str in ``short_expr_negs`` insertion order, none
      equal to ``short_expr``, or None). Which boxes fill the K slots is
      :class:`~.transforms.FGCLIP2SampleRegions`' choice (``max_boxes``,
      ``box_selection``).
    - ``dataset_id`` (int): 0, or the position in a :class:`FGCLIP2DatasetMixture`.

    Args:
        ann_file (str | list[str]): Annotation files, folders (``file_glob`` inside) or glob
            patterns; relative ones are joined to ``data_root``.
        lang (str): ``'en'`` or ``'zh'``.
        data_root (str): Root of annotations and images. Defaults to ``''``.
        data_prefix (dict): ``img_path``: image folder, relative to ``data_root`` unless
            absolute; ``f_path`` is relative to it.
        pipeline (list): Transforms (configs or callables), as mmengine datasets.
        require_bbox_info (bool): A record without ``bbox_info`` is a bad record.
        keep_boxes (bool): Parse ``bbox_info`` (False: ``regions=[]``, counted).
        box_tolerance (float): Slack outside [0, 1] before a box is out of range.
        num_negatives (int, optional): Hard negatives a box must have. Defaults to None:
            the ``num_negatives`` of the pipeline's ``FGCLIP2SampleRegions`` (10 without
            one); a different value raises ``ValueError`` (one count, checked here).
        on_bad_record (str): ``'skip'`` (count, warn once per reason, leave the record
            out) or ``'raise'`` (``BadRecordError`` at the first problem, box-level ones
            included). Defaults to ``'skip'``.
        on_load_error (str): ``'replace'``: a sample that fails at load time is replaced by
            the next index of the *same* dataset (same language), counted and warned, up
            to ``max_refetch`` times in a row; ``'raise'``: re-raise as ``BadRecordError``
            naming the file, record and image. Defaults to ``'replace'``.
        max_refetch (int): Consecutive replacements before ``RuntimeError``. Defaults to 10.
        validate_on_init (bool): Validate every record in ``full_init`` (cached). When
            False, bad records are only found at load time (``on_load_error``).
        file_glob (Sequence[str]): Patterns for folder entries.
        cache_index (bool): Cache indexes and validation results. Defaults to True.
        cache_dir (str, optional): Cache folder (default: next to each annotation file).
        indices (int | Sequence[int], optional): Keep the first/last ``n`` samples or these.
        metainfo (dict, optional): Extra meta information (``lang`` is always added).
        lazy_init (bool): Defer ``full_init``. Defaults to False.
        test_mode (bool): Stored for mmengine compatibility; changes nothing.
        max_boxes, box_selection: Retired: box selection belongs to the pipeline's
            ``FGCLIP2SampleRegions``; passing either raises ``ValueError`` saying what to
            set there.
    """
    DATA_HINT = ''  # how to obtain the data, appended to the missing-path error

    def __init__(self, ann_file, lang: str, data_root: str = '',
                 data_prefix: Optional[dict] = None, pipeline: Sequence = (),
                 require_bbox_info: bool = True, keep_boxes: bool = True,
                 box_tolerance: float = 0.01, num_negatives: Optional[int] = None,
                 on_bad_record: str = 'skip', on_load_error: str = 'replace',
                 max_refetch: int = 10, validate_on_init: bool = True,
                 file_glob: Sequence[str] = DEFAULT_FILE_GLOB, cache_index: bool = True,
                 cache_dir: Optional[str] = None, indices=None, metainfo: Optional[dict] = None,
                 lazy_init: bool = False, test_mode: bool = False,
                 max_boxes=None, box_selection=None) -> None:
        for name, value, options in (('on_bad_record', on_bad_record, ON_BAD_RECORD),
                                     ('on_load_error', on_load_error, ON_LOAD_ERROR)):
            if value not in options:
                raise ValueError(f'{name} must be one of {options}, got {value!r}')
        if isinstance(max_refetch, bool) or not isinstance(max_refetch, int) or max_refetch < 0:
            raise ValueError(f'max_refetch must be an int >= 0, got {max_refetch!r}')
        prefix = dict(img_path='') if data_prefix is None else dict(data_prefix)
        if set(prefix) - {'img_path'} or not isinstance(prefix.get('img_path', ''), str):
            raise ValueError(f'data_prefix must be dict(img_path=str), got {data_prefix!r}')
        retired = {k: v for k, v in zip(RETIRED_BOX_OPTIONS, (max_boxes, box_selection))
                   if v is not None}
        if retired:
            given = ', '.join(f'{k}={v!r}' for k, v in retired.items())
            raise ValueError(
                f'{type(self).__name__}: {given}: these dataset options are retired; the '
                'dataset yields every validated box and FGCLIP2SampleRegions in the pipeline '
                f'selects them: remove {", ".join(retired)} from the dataset and set '
                f'dict(type=\'FGCLIP2SampleRegions\', {given}) in its pipeline')
        schema = (lang, require_bbox_info, keep_boxes, box_tolerance)
        RecordSchema(*schema, DEFAULT_NUM_NEGATIVES if num_negatives is None else
                     num_negatives)  # bad options fail before the files are resolved
        self.lang = lang
        self.ann_file = copy.deepcopy(ann_file)
        self.data_root = data_root or ''
        img_root = osp.join(self.data_root, prefix.get('img_path', ''))
        self.img_root = osp.normpath(img_root) if img_root else ''
        self.on_bad_record, self.on_load_error = on_bad_record, on_load_error
        self.max_refetch, self.validate_on_init = max_refetch, bool(validate_on_init)
        self.file_glob = tuple(file_glob)
        self.cache_index, self.cache_dir = bool(cache_index), cache_dir
        self._indices = copy.deepcopy(indices)
        self._metainfo = dict(copy.deepcopy(metainfo or {}), lang=lang)
        self.test_mode = test_mode
        self.files: List[str] = self._resolve()  # missing data fails here, even lazily
        self.pipeline = Compose(list(pipeline))
        samplers = [t for t in self.pipeline.transforms if isinstance(t, FGCLIP2SampleRegions)]
        sampler = samplers[0] if samplers else None
        self.schema = RecordSchema(*schema, self._num_negatives(num_negatives, sampler))
        self.counter = SkipCounter(type(self).__name__)
        self.load_counts = LoadCounts(type(self).__name__)
        self.dataset_id, self.sample_offset = 0, 0
        self._image_sizes = None
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    # ------------------------------------------------------------------ initialisation
    @property
    def metainfo(self) -> dict:
        """dict: A copy of the meta information (``lang`` included)."""
        return copy.deepcopy(self._metainfo)

    def _num_negatives(self, num_negatives: Optional[int], sampler) -> int:
        """The one hard-negative count: the transform's, which the dataset validates."""
        if num_negatives is None:
            return DEFAULT_NUM_NEGATIVES if sampler is None else sampler.num_negatives
        if sampler is not None and num_negatives != sampler.num_negatives:
            raise ValueError(f'{type(self).__name__}: num_negatives={num_negatives!r} differs '
                             f'from the pipeline\'s FGCLIP2SampleRegions(num_negatives='
                             f'{sampler.num_negatives}); the dataset validates the count the '
                             'transform lays out: leave num_negatives out of the dataset')
        return num_negatives

    def _problem(self, reason: str, where: str, detail: str, count: int = 1) -> None:
        if self.on_bad_record == 'raise':
            raise BadRecordError(reason, where, detail)
        self.counter.add(reason, where, detail, count)

    def _resolve(self) -> List[str]:
        """The annotation files; one ``FileNotFoundError`` naming every missing path."""
        files, missing = resolve_files(self.ann_file, self.data_root, self.file_glob)
        if self.img_root and not osp.isdir(self.img_root) and self.img_root not in missing:
            missing.append(f'{self.img_root} (image folder)')
        if missing:
            lines = '\n'.join(f'  - {m}' for m in missing)
            raise FileNotFoundError(f'{type(self).__name__}: missing data path(s):\n{lines}\n'
                                    f'{self.DATA_HINT}')
        return files

    def full_init(self) -> None:
        """Index and (optionally) validate the annotation files; idempotent."""
        if self._fully_initialized:
            return
        files = self.files = self._resolve()
        self._indexes = [RecordIndex(f, self.cache_index, self.cache_dir) for f in files]
        self._valid, self._sizes = [], []  # per file: SharedArray of record numbers, sizes
        for index in self._indexes:
            self._file_problems(index)
            if self.validate_on_init:
                valid, sizes = self._validate_file(index)
            else:
                valid = SharedArray(array=np.arange(len(index), dtype=np.int64))
                sizes = SharedArray(array=np.zeros((len(index), 2), np.int32))
            self._valid.append(valid)
            self._sizes.append(sizes)
        self._valid_starts = np.cumsum([0] + [len(v) for v in self._valid]).astype(np.int64)
        self._subset = None if self._indices is None else self._subset_of(self._indices)
        self._fully_initialized = True
        print_log(self.describe(), logger='current')

    def describe(self) -> str:
        """str: One line: samples, files, records and the counted problems (the summary
        logged by :meth:`full_init`, also named when there is nothing to train on)."""
        self.full_init()
        records = sum(len(i) for i in self._indexes)
        return (f'{type(self).__name__} ({self.lang}): {len(self)} samples from '
                f'{len(self.files)} file(s) with {records} records; {self.counter.summary()}')

    def _file_problems(self, index: RecordIndex) -> None:
        info, n = index.info, len(index)
        if info.get('empty_file'):
            self._problem('empty_file', index.path, 'the file holds no records')
        elif info.get('single_object_lines'):
            self._problem('single_json_object', index.path,
                          f'the file is one pretty-printed JSON object over '
                          f'{info["single_object_lines"]} lines, not JSON-lines (one record '
                          'object per line) nor a JSON array of records; no record is read '
                          'from it')
        elif n == 0 and not info.get('truncated'):
            self._problem('empty_file', index.path, 'the JSON array holds no records ([])')
        if info.get('truncated'):
            kept = 'the last element was dropped' if info.get('partial_dropped') else \
                'every complete element is kept'
            self._problem('truncated_file', f'{index.path}: record {n}',
                          f'the JSON array is not closed (truncated file); {kept}')
        if info.get('trailing_data'):
            self._problem('trailing_data', index.path, 'non-blank bytes after the JSON array')

    def _validate_file(self, index: RecordIndex) -> tuple:
        """``(valid record numbers, (M, 2) int32 (height, width) or 0)`` of one file, as
        :class:`SharedArray` (memory-mapped from the cache when there is one)."""
        schema_key = self.schema.key()
        expected = dict(source_signature(index.path), version=VALIDATION_VERSION,
                        schema=schema_key)
        digest = hashlib.sha1(schema_key.encode('utf-8')).hexdigest()[:8]
        stem = cache_stem(index.path, f'fgclip2val-{digest}', self.cache_dir)
        cached = load_cache(stem, expected) if self.cache_index else None
        if cached is not None:
            arrays, meta = cached
        else:
            arrays, meta = validate_file(index, self.schema, self.on_bad_record,
                                         self.counter.owner)
            meta = dict(expected, **meta)
            if self.cache_index and save_cache(stem, arrays, meta):
                arrays = {k: f'{stem}.{k}.npy' for k in arrays}
            arrays = {k: SharedArray(path=v) if isinstance(v, str) else SharedArray(array=v)
                      for k, v in arrays.items()}
        raising = [r for r in meta['counts'] if r not in KEPT_REASONS]
        if self.on_bad_record == 'raise' and raising:
            raise BadRecordError(raising[0], *meta['examples'][raising[0]])
        self.counter.replay(meta['counts'], meta['examples'], meta['notes'])
        return arrays['valid'], arrays['sizes']

    def _subset_of(self, indices) -> np.ndarray:
        n = int(self._valid_starts[-1])
        if isinstance(indices, int) and not isinstance(indices, bool):
            return np.arange(n)[:indices] if indices >= 0 else np.arange(n)[indices:]
        keep = np.asarray(list(indices), dtype=np.int64)
        if keep.size and (keep.min() < -n or keep.max() >= n):
            raise ValueError(f'indices out of range for {n} samples: {list(indices)[:10]}')
        return keep % max(n, 1)

    # ------------------------------------------------------------------------ access
    def set_mixture_position(self, dataset_id: int, sample_offset: int) -> None:
        """Called by :class:`FGCLIP2DatasetMixture`: ``dataset_id`` and the offset added to
        ``sample_idx`` so that it indexes the mixture."""
        self.dataset_id, self.sample_offset = int(dataset_id), int(sample_offset)

    def __len__(self) -> int:
        self.full_init()
        return int(self._valid_starts[-1]) if self._subset is None else len(self._subset)

    def _locate(self, idx: int) -> tuple:
        """``(file number, record number, normalised idx)`` of sample ``idx``."""
        n = len(self)
        if isinstance(idx, bool) or not isinstance(idx, (int, np.integer)) or \
                not -n <= idx < n:
            raise IndexError(f'{type(self).__name__}: index {idx!r} out of range for {n} '
                             'samples')
        idx = int(idx) % n
        pos = idx if self._subset is None else int(self._subset[idx])
        k = int(np.searchsorted(self._valid_starts, pos, 'right')) - 1
        return k, int(self._valid[k].array[pos - self._valid_starts[k]]), idx

    def get_data_info(self, idx: int) -> dict:
        """Read, parse and validate sample ``idx`` (fields: see the class docstring).

        Raises:
            BadRecordError: The record cannot be used (reason, file and record named).
        """
        k, record_no, idx = self._locate(idx)
        index = self._indexes[k]
        where = f'{index.path}: record {record_no}'
        try:
            result = validate_record(index.load(record_no), self.schema)
        except RecordDecodeError as err:
            raise BadRecordError(err.reason, where, err.detail) from None
        if result.reason:
            raise BadRecordError(result.reason, where, result.detail)
        if not self.validate_on_init:  # not counted at init: count (per load) here
            for reason in result.problems:
                if self.on_bad_record == 'raise':
                    raise BadRecordError(reason, where, result.problem_details[reason])
                self.load_counts.add(reason, where, result.problem_details[reason],
                                     'the box (or its hard negatives) is left out')
        record = result.record
        return {'img_path': osp.abspath(osp.join(self.img_root, record['f_path'])),
                'sample_idx': self.sample_offset + idx, 'lang': self.lang,
                'caption_short': record['caption_short'],
                'caption_long': record['caption_long'],
                'regions': record['regions'], 'dataset_id': self.dataset_id}

    def __getitem__(self, idx: int):
        """``pipeline(get_data_info(idx))`` with the ``on_load_error`` policy."""
        start = current = self._locate(idx)[2]
        for _ in range(self.max_refetch + 1):
            error = None
            try:
                data = self.pipeline(self.get_data_info(current))
                if data is not None:
                    return data
                reason, detail = 'pipeline_returned_none', 'the pipeline returned None'
                where = '{}: record {}'.format(*self._where(current))
            except BadRecordError as err:
                error, reason, where, detail = err, err.reason, err.where, err.detail
            except OSError as err:  # FGCLIP2LoadImage: missing / truncated / corrupt image
                error, detail = err, str(err)
                reason = 'missing_image' if isinstance(err, FileNotFoundError) else \
                    'too_large' if isinstance(err, ImageTooLargeError) else 'unreadable_image'
                where = '{}: record {}'.format(*self._where(current))
            if self.on_load_error == 'raise':
                if isinstance(error, BadRecordError):
                    raise error
                raise BadRecordError(reason, where, detail) from error
            following = (current + 1) % len(self)
            self.load_counts.add(reason, where, detail, f'sample {current} is replaced by '
                                 f'sample {following} of the same dataset')
            current = following
        raise RuntimeError(f'{type(self).__name__}: {self.max_refetch + 1} consecutive samples '
                           f'from index {start} failed to load (last: {reason} at {where}: '
                           f'{detail}); fix the data or raise max_refetch')

    def _where(self, idx: int) -> tuple:
        k, record_no, _ = self._locate(idx)
        return self._indexes[k].path, record_no

    def get_image_sizes(self) -> np.ndarray:
        """int32 (N, 2) ``(height, width)`` of every sample (for NaFlex bucketing).

        Taken from the records' optional ``height``/``width`` (the size as loaded); the
        other images' headers are read once (no decoding) by the pipeline's
        :class:`~.transforms.FGCLIP2LoadImage` (so with its ``exif_transpose`` and
        ``max_pixels``) and cached per file. ``(0, 0)`` where the header is unreadable or
        the image too large (counted as ``unreadable_image`` / ``too_large``; the sample
        then fails at load time and follows ``on_load_error``).
        """
        if self._image_sizes is None:
            parts = [self._filled_sizes(k) for k in range(len(self._indexes))]
            sizes = np.concatenate(parts) if parts else np.zeros((0, 2), np.int32)
            self._image_sizes = sizes if self._subset is None else sizes[self._subset]
        return self._image_sizes

    def _filled_sizes(self, k: int) -> np.ndarray:
        sizes = np.array(self._sizes[k].array, dtype=np.int32)
        unknown = np.flatnonzero((sizes <= 0).any(1))
        if not len(unknown):
            return sizes
        index = self._indexes[k]
        expected = dict(source_signature(index.path), schema=self.schema.key(),
                        img_root=osp.abspath(self.img_root), validated=self.validate_on_init,
                        exif_transpose=self._size_reader().exif_transpose)
        digest = hashlib.sha1(json.dumps(expected).encode('utf-8')).hexdigest()[:8]
        stem = cache_stem(index.path, f'fgclip2hdr-{digest}', self.cache_dir)
        cached = load_cache(stem, expected) if self.cache_index else None
        if cached is not None:
            return np.array(cached[0]['sizes'].array)
        loader, bad = self._size_reader(), 0
        for j in unknown.tolist():
            record_no = int(self._valid[k].array[j])
            where = f'{index.path}: record {record_no}'
            try:
                record = validate_record(index.load(record_no), self.schema).record
                sizes[j] = loader.read_size(osp.join(self.img_root, record['f_path']))
            except (OSError, ValueError, TypeError) as err:
                bad += 1
                reason = 'too_large' if isinstance(err, ImageTooLargeError) else \
                    'unreadable_image'
                self.counter.add(reason, where, f'image header: {err}')
        print_log(f'{type(self).__name__}: read {len(unknown)} image headers of {index.path} '
                  f'for NaFlex bucketing ({bad} unreadable)', logger='current')
        if self.cache_index:
            save_cache(stem, {'sizes': sizes}, expected)
        return sizes

    def _size_reader(self) -> FGCLIP2LoadImage:
        """The pipeline's image loader (so that the header sizes follow its EXIF setting:
        the bucketing size is the size of the image as loaded), or a default one."""
        for transform in getattr(self.pipeline, 'transforms', ()):
            if isinstance(transform, FGCLIP2LoadImage):
                return transform
        return FGCLIP2LoadImage()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state['_image_sizes'] = None  # sampler-side only; workers never need it
        return state

    def get_lang_codes(self) -> np.ndarray:
        """np.ndarray: uint8 (N,) language of every sample, as an index into ``LANGS``."""
        return np.full(len(self), LANGS.index(self.lang), dtype=np.uint8)

    def log_load_summary(self, epoch: Optional[int] = None) -> dict:
        """Log the load-time problems counted since the previous call (all workers)."""
        return self.load_counts.log_summary(epoch)

    def __repr__(self) -> str:
        size = len(self) if self._fully_initialized else 'not initialised'
        return (f'{type(self).__name__}(lang={self.lang!r}, samples={size}, '
                f'files={len(self.files)}, img_root={self.img_root!r})')
