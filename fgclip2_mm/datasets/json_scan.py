"""Byte-level scanners that find the records of JSON-array and JSON-lines files.

Both return the byte spans ``[start, end)`` of the records as an int64 (N, 2) array and
never parse a record. The JSON-array scanner is vectorised with numpy over fixed-size
chunks: it keeps only the bytes that matter (quotes, backslashes, brackets, commas),
decides which quotes are escaped from the length of the backslash run before them, derives
the in-string state from the parity of unescaped quotes and the bracket depth from a
cumulative sum, and records the top-level commas; all of it carries over chunk borders.
"""
import json
import os
from typing import Optional, Tuple

import numpy as np

DEFAULT_CHUNK = 1 << 22  # 4 MiB per scan step
_BOM = b'\xef\xbb\xbf'
_WHITESPACE = b' \t\r\n'
_SPECIAL = np.zeros(256, dtype=bool)
_SPECIAL[list(b'"\\{}[],')] = True
_IS_WS = np.zeros(256, dtype=bool)
_IS_WS[list(_WHITESPACE)] = True
_SMALL = 16  # spans up to this many bytes are checked for being blank


def sniff_format(path: str) -> Optional[str]:
    """``'json'`` (first byte ``[``), ``'jsonl'`` (``{``) or None for an empty file.

    Raises:
        ValueError: Any other first byte (the message names the file).
    """
    with open(path, 'rb') as f:
        head = f.read(1 << 16)
        offset = len(_BOM) if head.startswith(_BOM) else 0
        while True:
            stripped = head[offset:].lstrip(_WHITESPACE)
            if stripped:
                break
            head, offset = f.read(1 << 20), 0
            if not head:
                return None
    if stripped[:1] == b'[':
        return 'json'
    if stripped[:1] == b'{':
        return 'jsonl'
    raise ValueError(f'{path}: not a JSON array nor JSON-lines of objects (first non-blank '
                     f'byte {stripped[:1]!r}); expected "[" or "{{"')


def _blank(f, start: int, end: int) -> bool:
    """Whether bytes ``[start, end)`` of ``f`` are all whitespace (read in bounded blocks)."""
    f.seek(start)
    while start < end:
        block = f.read(min(end - start, 1 << 20))
        if not block:
            break
        if block.strip(_WHITESPACE):
            return False
        start += len(block)
    return True


def _drop_blank_small(f, spans: np.ndarray) -> np.ndarray:
    small = np.flatnonzero(spans[:, 1] - spans[:, 0] <= _SMALL)
    blank = [i for i in small if _blank(f, *spans[i])]
    return np.delete(spans, blank, axis=0) if blank else spans


def scan_jsonl(path: str, chunk_size: int = DEFAULT_CHUNK) -> Tuple[np.ndarray, dict]:
    """Spans of the lines of a JSON-lines file (blank lines dropped).

    Returns:
        tuple: ``spans`` int64 (N, 2) ``[start, end)`` without the newline, and ``info``
        with ``unterminated`` (the last line has no newline).
    """
    size = os.path.getsize(path)
    ends, pos = [], 0
    with open(path, 'rb') as f:
        start = len(_BOM) if f.read(3) == _BOM else 0
        f.seek(0)
        while True:
            chunk = f.read(chunk_size)
            if not chunk:
                break
            ends.append(np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10) + pos)
            pos += len(chunk)
        ends = np.concatenate(ends) if ends else np.zeros(0, np.int64)
        unterminated = (ends[-1] + 1 if len(ends) else start) < size
        if unterminated:
            ends = np.append(ends, size)
        starts = np.concatenate([[start], ends[:-1] + 1])[:len(ends)].astype(np.int64)
        spans = np.stack([starts, ends.astype(np.int64)], axis=1)
        spans = _drop_blank_small(f, spans[spans[:, 1] > spans[:, 0]])
    return spans, {'unterminated': bool(unterminated and len(spans)
                                        and spans[-1, 1] == size)}


class _ArrayScanState:
    """Carried state of the JSON-array scanner between chunks."""

    def __init__(self) -> None:
        self.in_string = 0  # 1 inside a string literal
        self.backslashes = 0  # backslashes ending the previous chunk
        self.depth = 0  # bracket depth after the previous chunk
        self.bounds = []  # byte positions of '[' , top-level ',' and the closing ']'
        self.closed_at = -1
        self.trailing = False


def _scan_chunk(a: np.ndarray, pos: int, st: _ArrayScanState) -> None:
    """Advance ``st`` over the bytes ``a`` that start at file offset ``pos``."""
    if st.closed_at >= 0:  # after the array: only whitespace is allowed
        st.trailing = st.trailing or bool((~_IS_WS[a]).any())
        return
    p = np.flatnonzero(_SPECIAL[a])
    if len(p) == 0:
        st.backslashes = 0
        return
    c = a[p]
    bs = c == 92
    # Last byte before p[j] that is not a backslash: p[j]-1 after a gap of ordinary bytes,
    # else the previous special byte if it is not a backslash, else inherited (running max).
    gap = np.empty(len(p), bool)
    gap[0] = p[0] > 0
    gap[1:] = np.diff(p) > 1
    inherit = -1 - st.backslashes  # the run may continue from the previous chunk
    prev_special = np.empty(len(p), np.int64)
    prev_special[0] = inherit
    prev_special[1:] = np.where(bs[:-1], inherit, p[:-1])
    last_plain = np.maximum.accumulate(np.where(gap, p - 1, prev_special))
    escaped = ((p - 1 - last_plain) & 1).astype(bool)
    quote = (c == 34) & ~escaped
    quotes_before = np.cumsum(quote) - quote
    outside = (((quotes_before + st.in_string) & 1) == 0) & ~quote
    opening = outside & ((c == 123) | (c == 91))
    closing = outside & ((c == 125) | (c == 93))
    delta = opening.astype(np.int64) - closing
    depth_after = st.depth + np.cumsum(delta)
    depth_before = depth_after - delta
    outer_close = closing & (depth_after == 0)
    end = int(np.argmax(outer_close)) + 1 if outer_close.any() else len(p)
    events = (opening & (depth_before == 0)) | (outside & (c == 44) & (depth_before == 1))
    st.bounds.append(p[:end][(events | outer_close)[:end]] + pos)
    if outer_close.any():
        close = int(p[end - 1])
        st.closed_at = close + pos
        st.trailing = bool((~_IS_WS[a[close + 1:]]).any())
        return
    st.in_string = int((st.in_string + int(quote.sum())) & 1)
    st.depth = int(depth_after[-1])
    st.backslashes = int(p[-1] - last_plain[-1]) if bs[-1] and p[-1] == len(a) - 1 else 0


def scan_json_array(path: str, chunk_size: int = DEFAULT_CHUNK) -> Tuple[np.ndarray, dict]:
    """Spans of the top-level elements of a JSON array, streaming.

    Returns:
        tuple: ``spans`` int64 (N, 2) and ``info`` with ``truncated`` (the closing ``]`` is
        missing), ``partial_dropped`` (an incomplete last element was dropped),
        ``unterminated`` (the last kept element is not followed by ``,`` or ``]``) and
        ``trailing_data`` (non-blank bytes after the array).

    Bracket *kinds* are not matched (only the depth is followed): malformed structure
    shows up as spans that fail to parse (``invalid_json`` when read) or as trailing data,
    never as a silently wrong record, because every span is parsed by ``json`` on its own.
    """
    st, pos = _ArrayScanState(), 0
    size = os.path.getsize(path)
    with open(path, 'rb') as f:
        while True:
            chunk = f.read(chunk_size)
            if not chunk:
                break
            _scan_chunk(np.frombuffer(chunk, np.uint8), pos, st)
            pos += len(chunk)
        bounds = np.concatenate(st.bounds) if st.bounds else np.zeros(0, np.int64)
        closed = st.closed_at >= 0
        spans = np.stack([bounds[:-1] + 1, bounds[1:]], axis=1) if len(bounds) > 1 else \
            np.zeros((0, 2), np.int64)
        partial_dropped = unterminated = False
        if not closed and len(bounds):
            tail = (int(bounds[-1]) + 1, size)
            if not _blank(f, *tail):
                if st.depth == 1 and not st.in_string:  # structurally complete element
                    spans = np.concatenate([spans, [tail]])
                    unterminated = True
                else:
                    partial_dropped = True
        if len(spans) == 1 and closed and _blank(f, *spans[0]):
            spans = spans[:0]  # "[ ]"
    info = {'truncated': bool(len(bounds) and not closed), 'partial_dropped': partial_dropped,
            'unterminated': unterminated, 'trailing_data': st.trailing}
    return spans.astype(np.int64), info


def is_single_json_object(path: str, line_spans: np.ndarray,
                          chunk_size: int = DEFAULT_CHUNK) -> bool:
    """Whether a file sniffed as JSON-lines is in fact one pretty-printed JSON object.

    True when it has several lines, its first line is not a JSON value by itself, and the
    whole file is one balanced ``{...}`` with only whitespace after it (found by the
    streaming array scanner, which follows the brackets of any top-level value; the file
    is never loaded as a whole).

    Args:
        path (str): The file.
        line_spans (np.ndarray): int64 (N, 2) line spans from :func:`scan_jsonl`.
        chunk_size (int): Scan chunk in bytes.
    """
    if len(line_spans) < 2:
        return False
    start, end = (int(v) for v in line_spans[0])
    with open(path, 'rb') as f:
        f.seek(start)
        first = f.read(end - start)
    try:
        json.loads(first.decode('utf-8', errors='replace'))
        return False
    except ValueError:
        pass
    except RecursionError:
        return False
    _, info = scan_json_array(path, chunk_size)
    return not info['truncated'] and not info['trailing_data'] and not info['unterminated']
