"""Indexed, lazy access to the records of a JSON-array or JSON-lines annotation file.

A FineHARD file holds millions of records; loading it with ``json.load`` gives every
dataloader worker a Python list of dicts (reference bug, spec section 3.7 #15). Instead,
:class:`RecordIndex` scans the file once and keeps only the byte span ``[start, end)`` of
every record in one int64 numpy array of shape (N, 2); a record is read and parsed when it
is asked for.

- JSON-lines: a record is a line (``\\n``-terminated; ``\\r`` and other JSON whitespace
  around it is harmless). Empty or whitespace-only lines are not records.
- JSON arrays: a streaming, vectorised scanner (numpy, fixed-size chunks) follows string
  state (with backslash escapes), bracket depth and the top-level commas, and records the
  span of each top-level element. The file is never loaded as a whole.

The format is sniffed from the first non-whitespace byte (after an optional UTF-8 BOM):
``[`` for an array, ``{`` for JSON-lines, whatever the extension.

The index is cached (``np.save`` + a small JSON sidecar holding the source size and
mtime, so a changed file is re-scanned) in a hidden ``.fgclip2_cache`` folder next to the
file or in ``cache_dir``; cached arrays are memory-mapped, so every dataloader worker and
every rank shares the same page-cache pages, and pickling an index sends only the cache
path.
"""
import glob
import hashlib
import json
import os
import os.path as osp
import sys
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from .json_scan import (DEFAULT_CHUNK, is_single_json_object, scan_json_array, scan_jsonl,
                        sniff_format)

INDEX_VERSION = 2
DEFAULT_FILE_GLOB = ('*.json', '*.jsonl')
CACHE_FOLDER = '.fgclip2_cache'


class RecordDecodeError(ValueError):
    """A record's bytes are not valid UTF-8 or not valid JSON.

    Attributes:
        reason (str): ``'invalid_utf8'``, ``'invalid_json'``, ``'too_deep'`` (nested
            beyond the decoder's recursion limit) or ``'truncated_record'`` (the last record
            of a file that ends without its terminator).
        detail (str): The decoder's message.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f'{reason}: {detail}')
        self.reason = reason
        self.detail = detail


class SharedArray:
    """A numpy array that pickles as its cache-file path when it has one.

    Args:
        array (np.ndarray, optional): In-memory array (pickled with its data).
        path (str, optional): ``.npy`` file, memory-mapped read-only on first access.
    """

    def __init__(self, array: Optional[np.ndarray] = None, path: Optional[str] = None) -> None:
        if (array is None) == (path is None):
            raise ValueError('SharedArray needs exactly one of array and path')
        self._array = array
        self.path = path

    @property
    def array(self) -> np.ndarray:
        """np.ndarray: The data (memory-mapped when file-backed)."""
        if self._array is None:
            self._array = np.load(self.path, mmap_mode='r')
        return self._array

    def __len__(self) -> int:
        return len(self.array)

    def __getstate__(self) -> dict:
        return {'_array': None if self.path else self._array, 'path': self.path}


# ------------------------------------------------------------------------------- caching
def cache_stem(source: str, tag: str, cache_dir: Optional[str] = None) -> str:
    """Path prefix of the cache files of ``source``.

    Args:
        source (str): Absolute path of the annotation file.
        tag (str): What is cached (e.g. ``'fgclip2idx'``); distinguishes cache families.
        cache_dir (str, optional): Folder of the cache; defaults to a hidden
            ``.fgclip2_cache`` folder next to the source (not matched by ``*.json`` globs).

    Returns:
        str: ``<dir>/.fgclip2_cache/<name>.<tag>``, or
        ``<cache_dir>/<name>.<sha1(path)[:12]>.<tag>`` in a shared cache folder.
    """
    name = osp.basename(source)
    if cache_dir is None:
        return osp.join(osp.dirname(source), CACHE_FOLDER, f'{name}.{tag}')
    digest = hashlib.sha1(source.encode('utf-8')).hexdigest()[:12]
    return osp.join(cache_dir, f'{name}.{digest}.{tag}')


def source_signature(path: str) -> Dict[str, Any]:
    """Identity of a file's current content for cache validation (size and mtime)."""
    stat = os.stat(path)
    return {'source': path, 'size': stat.st_size, 'mtime_ns': stat.st_mtime_ns}


def save_cache(stem: str, arrays: Dict[str, np.ndarray], meta: Dict[str, Any]) -> bool:
    """Write ``arrays`` as ``<stem>.<key>.npy`` and ``meta`` as ``<stem>.meta``, atomically.

    The meta file is written last (renamed into place), so a reader never sees a complete
    meta next to a partial array. Concurrent writers (several ranks) are harmless.

    Returns:
        bool: False when the folder is not writable (the caller keeps working uncached).
    """
    try:
        os.makedirs(osp.dirname(stem) or '.', exist_ok=True)
        tmp = f'.tmp{os.getpid()}'
        for key, array in arrays.items():
            with open(f'{stem}.{key}.npy{tmp}', 'wb') as f:
                np.save(f, np.ascontiguousarray(array))
            os.replace(f'{stem}.{key}.npy{tmp}', f'{stem}.{key}.npy')
        with open(f'{stem}.meta{tmp}', 'w', encoding='utf-8') as f:
            json.dump(dict(meta, arrays=sorted(arrays)), f, ensure_ascii=False)
        os.replace(f'{stem}.meta{tmp}', f'{stem}.meta')
    except OSError:
        return False
    return True


def load_cache(stem: str,
               expected: Dict[str, Any]) -> Optional[Tuple[Dict[str, SharedArray], dict]]:
    """Read a cache written by :func:`save_cache` if its meta matches ``expected``.

    Returns:
        tuple | None: ``({key: SharedArray}, meta)``, or None when absent, stale or
        unreadable (an ``.npy`` that needs pickle, i.e. an object array, is unreadable:
        ``np.load`` runs with ``allow_pickle=False``).
    """
    try:
        with open(f'{stem}.meta', encoding='utf-8') as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or any(meta.get(k) != v for k, v in expected.items()):
        return None
    arrays = {}
    for key in meta.get('arrays', ()):
        path = f'{stem}.{key}.npy'
        if not osp.isfile(path):
            return None
        arrays[key] = SharedArray(path=path)
        try:  # memory-mapped now (cheap): a damaged or crafted (pickled) cache is stale
            arrays[key].array
        except (OSError, ValueError):
            return None
    return arrays, meta


def resolve_files(ann_file: Union[str, Sequence[str]], data_root: str,
                  file_glob: Sequence[str]) -> Tuple[List[str], List[str]]:
    """Expand ``ann_file`` entries (file, directory or glob pattern; relative to
    ``data_root``) into sorted files.

    Returns:
        tuple[list[str], list[str]]: Existing files (absolute, de-duplicated, in entry
        order) and descriptions of the missing entries.
    """
    entries = [ann_file] if isinstance(ann_file, str) else list(ann_file)
    if not entries or not all(isinstance(e, str) and e for e in entries):
        raise ValueError(f'ann_file must be a non-empty str or list of str, got {ann_file!r}')
    files, missing = [], []
    for entry in entries:
        path = osp.normpath(entry if osp.isabs(entry) or not data_root else
                            osp.join(data_root, entry))
        if osp.isdir(path):
            found = sorted({m for pattern in file_glob
                            for m in glob.glob(osp.join(path, pattern))})
            if not found:
                missing.append(f'{path} (a folder without files matching {list(file_glob)})')
        elif glob.has_magic(path):
            found = sorted(glob.glob(path))
            if not found:
                missing.append(f'{path} (no file matches this pattern)')
        elif osp.isfile(path):
            found = [path]
        else:
            found = []
            missing.append(path)
        files += [osp.abspath(f) for f in found if osp.abspath(f) not in files]
    return files, missing



# --------------------------------------------------------------------------- the index
class RecordIndex:
    """Byte-span index of one annotation file, with lazy record reads.

    Args:
        path (str): A JSON-array or JSON-lines file.
        cache (bool): Load/save the index cache. Defaults to True.
        cache_dir (str, optional): Cache folder; default next to the file (falls back to
            no cache when that folder is read-only).
        chunk_size (int): Scan chunk in bytes. Defaults to 4 MiB.

    Attributes:
        path (str): Absolute path.
        format (str | None): ``'json'``, ``'jsonl'`` or None (empty file).
        info (dict): File-level findings: ``truncated``, ``partial_dropped``,
            ``unterminated``, ``trailing_data``, ``empty_file`` and
            ``single_object_lines`` (> 0: the file is one pretty-printed JSON object over
            that many lines, not JSON-lines; it then has no records).
        from_cache (bool): Whether the spans came from the cache.
    """

    def __init__(self, path: str, cache: bool = True, cache_dir: Optional[str] = None,
                 chunk_size: int = DEFAULT_CHUNK) -> None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f'chunk_size must be a positive int, got {chunk_size!r}')
        self.path = osp.abspath(os.fspath(path))
        signature = dict(source_signature(self.path), version=INDEX_VERSION)
        stem = cache_stem(self.path, 'fgclip2idx', cache_dir)
        cached = load_cache(stem, signature) if cache else None
        self.from_cache = cached is not None
        if cached is not None:
            self._spans, meta = cached[0]['spans'], cached[1]
            self.format, self.info = meta['format'], meta['info']
        else:
            self.format = sniff_format(self.path)
            scan = scan_jsonl if self.format == 'jsonl' else scan_json_array
            spans, self.info = scan(self.path, chunk_size) if self.format else (
                np.zeros((0, 2), np.int64), {})
            single = self.format == 'jsonl' and is_single_json_object(self.path, spans,
                                                                      chunk_size)
            if single:  # a pretty-printed object: its lines are not records
                self.info['single_object_lines'] = int(len(spans))
                spans = spans[:0]
            self.info = dict({'truncated': False, 'partial_dropped': False,
                              'unterminated': False, 'trailing_data': False,
                              'single_object_lines': 0}, **self.info,
                             empty_file=self.format is None)
            meta = dict(signature, format=self.format, info=self.info)
            saved = cache and save_cache(stem, {'spans': spans}, meta)
            self._spans = SharedArray(path=f'{stem}.spans.npy') if saved else \
                SharedArray(array=spans)
        self._file = None
        self._pid = None

    @property
    def spans(self) -> np.ndarray:
        """np.ndarray: int64 (N, 2) byte spans ``[start, end)``."""
        return self._spans.array

    def __len__(self) -> int:
        return len(self._spans)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state['_file'] = state['_pid'] = None
        return state

    def _handle(self):
        if self._file is None or self._pid != os.getpid():
            self._file = open(self.path, 'rb')  # one handle per process, reopened after fork
            self._pid = os.getpid()
        return self._file

    def read(self, i: int) -> bytes:
        """Raw bytes of record ``i``."""
        start, end = (int(v) for v in self.spans[i])
        f = self._handle()
        f.seek(start)
        return f.read(end - start)

    def decode(self, i: int, data: bytes) -> Any:
        """Parse the bytes of record ``i`` (strict UTF-8, then JSON).

        Raises:
            RecordDecodeError: With reason ``invalid_utf8``, ``invalid_json``,
                ``too_deep`` or ``truncated_record``.
        """
        try:
            text = data.decode('utf-8')
        except UnicodeDecodeError as err:
            raise RecordDecodeError('invalid_utf8', str(err)) from None
        try:
            return json.loads(text)
        except ValueError as err:
            last = i == len(self) - 1 and self.info.get('unterminated')
            raise RecordDecodeError('truncated_record' if last else 'invalid_json',
                                    str(err)) from None
        except RecursionError:  # "[[[[...]]]]": the decoder recurses once per level
            raise RecordDecodeError(
                'too_deep', f'JSON nested deeper than the decoder can follow (Python '
                f'recursion limit {sys.getrecursionlimit()}); a record is a flat object') from None

    def load(self, i: int) -> Any:
        """Read and parse record ``i`` (see :meth:`decode`)."""
        return self.decode(i, self.read(i))

    def iter_raw(self, max_bytes: int = 1 << 24) -> Iterator[Tuple[int, bytes]]:
        """Every ``(record number, bytes)`` in file order, read in large sequential blocks."""
        spans, n, i = self.spans, len(self), 0
        with open(self.path, 'rb') as f:
            while i < n:
                j = int(np.searchsorted(spans[:, 1], spans[i, 0] + max_bytes, 'right'))
                j = max(j, i + 1)
                rows = (spans[i:j] - spans[i, 0]).tolist()
                f.seek(int(spans[i, 0]))
                block = f.read(rows[-1][1])
                for k, (start, end) in enumerate(rows, i):
                    yield k, block[start:end]
                i = j
