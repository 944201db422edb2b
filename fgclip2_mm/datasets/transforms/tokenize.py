"""``FGCLIP2Tokenize``: caption fields -> token id tensors, in the dataloader workers."""
import copy
import os
from typing import Dict, Mapping, Optional, Sequence, Tuple

import torch

from ...registry import TRANSFORMS
from fgclip2_mm.text.tokenization import WALK_TYPES, FGCLIP2Tokenizer
from ...structures.batch_keys import TEXT_FIELDS, tokenize_keys


def _parse_keys(keys: Mapping[str, Sequence[str]]) -> Dict[str, Tuple[str, str]]:
    if not isinstance(keys, Mapping) or not keys:
        raise ValueError('keys must be a non-empty dict {source_key: (target_key, walk_type)}, '
                         f'got {keys!r}')
    parsed = {}
    for src, spec in keys.items():
        if isinstance(spec, str) or not isinstance(spec, Sequence) or len(spec) != 2:
            raise ValueError(f'keys[{src!r}] must be a (target_key, walk_type) pair, '
                             f'got {spec!r}')
        dst, walk_type = spec
        if walk_type not in WALK_TYPES:
            raise ValueError(f'keys[{src!r}]: walk_type must be one of {WALK_TYPES}, '
                             f'got {walk_type!r}')
        parsed[str(src)] = (str(dst), walk_type)
    return parsed


@TRANSFORMS.register_module()
class FGCLIP2Tokenize:
    """Tokenise caption fields of ``results`` into int64 id tensors.

    Tokenisation happens here, in the dataloader workers, never in the model's ``forward``.
    The HF tokenizer is built lazily, once per process: it is not pickled when the pipeline
    is sent to the workers (``__getstate__`` drops it), and a tokenizer built in a parent
    process is rebuilt after a fork (tracked by pid).

    Values: a ``str`` becomes a tensor of shape (L,); a list of strings (region texts)
    becomes (K, L), with (0, L) for an empty list; a non-empty list of equally long lists
    of strings (hard-negative groups, K x (1 + negatives)) becomes (K, M, L). L is 64 for
    the ``short``/``box`` walks and 196 for ``long`` (see :class:`FGCLIP2Tokenizer`).

    Example (``keys`` left out: the pretraining text fields of
    :mod:`fgclip2_mm.structures.batch_keys`)::

        dict(type='fgclip2_mm.FGCLIP2Tokenize',
             tokenizer=dict(folder='checkpoints/fg-clip2-base'))

    Region phrases and hard negatives repeat across records (a shared vocabulary of
    attributes), so each process memoises the ids of up to ``cache_size`` distinct texts
    per walk; ids do not depend on the batch, so the memo never changes a result.

    Args:
        tokenizer (dict): Keyword arguments of :class:`FGCLIP2Tokenizer` (``folder`` is
            required; a ``type`` key, if any, must name ``FGCLIP2Tokenizer``).
        keys (dict, optional): ``{source_key: (target_key, walk_type)}``. Defaults to None:
            the text fields of :mod:`fgclip2_mm.structures.batch_keys` (``short_text`` ->
            ``text_short``, ``long_text`` -> ``text_long``, ``region_texts`` -> ``box_texts``,
            ``hard_texts`` -> ``hardneg_texts``), of which only ``short_text`` must be
            present (captions-only pipelines have no region texts).
        allow_missing (bool): Skip source keys absent from ``results`` (or set to None)
            instead of raising ``KeyError``. Defaults to False.
        cache_size (int): Distinct texts memoised per walk and process (0 disables it;
            about 0.5 KB each). Defaults to 65536.
    """

    def __init__(self,
                 tokenizer: dict,
                 keys: Optional[Mapping[str, Sequence[str]]] = None,
                 allow_missing: bool = False,
                 cache_size: int = 65536) -> None:
        if not isinstance(tokenizer, Mapping) or 'folder' not in tokenizer:
            raise ValueError(f'tokenizer must be a dict with a "folder" key, got {tokenizer!r}')
        if not os.path.isdir(os.path.expanduser(str(tokenizer['folder']))):
            raise FileNotFoundError(
                f'FGCLIP2Tokenize: tokenizer folder not found: {tokenizer["folder"]!r}; it is '
                'the folder of the checkpoint you train from (tokenizer.json and '
                'tokenizer_config.json), e.g. `huggingface-cli download '
                'google/siglip2-base-patch16-naflex --local-dir '
                'checkpoints/siglip2-base-patch16-naflex`')
        cfg = copy.deepcopy(dict(tokenizer))
        tok_type = cfg.pop('type', 'FGCLIP2Tokenizer')
        if tok_type not in ('FGCLIP2Tokenizer', 'fgclip2_mm.FGCLIP2Tokenizer', FGCLIP2Tokenizer):
            raise ValueError(f'tokenizer type must be FGCLIP2Tokenizer, got {tok_type!r}')
        self.tokenizer_cfg = cfg
        self.keys = _parse_keys(tokenize_keys() if keys is None else keys)
        # Default keys that may be absent: all but the short caption (TEXT_FIELDS[0]).
        self._optional = frozenset() if keys is not None else frozenset(
            f.pipeline_key for f in TEXT_FIELDS[1:])
        self.allow_missing = bool(allow_missing)
        if int(cache_size) < 0:
            raise ValueError(f'cache_size must be >= 0, got {cache_size!r}')
        self.cache_size = int(cache_size)
        self._tokenizer: Optional[FGCLIP2Tokenizer] = None
        self._pid: Optional[int] = None
        self._memo: Dict[str, Dict[str, torch.Tensor]] = {}

    @property
    def tokenizer(self) -> FGCLIP2Tokenizer:
        """FGCLIP2Tokenizer: The tokenizer of this process (built on first use)."""
        if self._tokenizer is None or self._pid != os.getpid():
            self._tokenizer = FGCLIP2Tokenizer(**self.tokenizer_cfg)
            self._pid = os.getpid()
        return self._tokenizer

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state['_tokenizer'] = None
        state['_pid'] = None
        state['_memo'] = {}
        return state

    def _ids(self, texts: Sequence[str], walk_type: str) -> torch.Tensor:
        """(len(texts), L) ids, through the per-walk memo."""
        if not self.cache_size:
            return self.tokenizer(list(texts), walk_type)
        memo = self._memo.setdefault(walk_type, {})
        missing = list(dict.fromkeys(t for t in texts if t not in memo))
        if missing:
            for text, row in zip(missing, self.tokenizer(missing, walk_type)):
                if len(memo) < self.cache_size:
                    memo[text] = row
            if any(t not in memo for t in texts):  # memo full: no memo for this call
                return self.tokenizer(list(texts), walk_type)
        if not texts:
            return torch.empty((0, self.tokenizer.max_length(walk_type)), dtype=torch.long)
        return torch.stack([memo[t] for t in texts])

    def transform(self, results: dict) -> dict:
        """Tokenise the configured keys.

        Args:
            results (dict): Result dict holding the caption fields.

        Returns:
            dict: The same dict with one int64 tensor per target key.
        """
        for src, (dst, walk_type) in self.keys.items():
            value = results.get(src)
            if value is None:
                if self.allow_missing or src in self._optional:
                    continue
                raise KeyError(f'FGCLIP2Tokenize: results has no text under {src!r} '
                               f'(keys: {sorted(results)})')
            if isinstance(value, str):
                results[dst] = self._ids([value], walk_type)[0]
            elif isinstance(value, (list, tuple)) and value and \
                    all(isinstance(v, (list, tuple)) for v in value):
                results[dst] = self._nested(value, walk_type, src)
            elif isinstance(value, (list, tuple)):
                self._check_strings(value, src)
                results[dst] = self._ids(list(value), walk_type)
            else:
                raise TypeError(f'FGCLIP2Tokenize: results[{src!r}] must be a str or a list '
                                f'of str, got {type(value).__name__}')
        return results

    def _nested(self, groups, walk_type: str, src: str):
        """(K, M) nested lists of str -> (K, M, L) ids (one tokenizer call)."""
        sizes = {len(group) for group in groups}
        if len(sizes) != 1:
            raise ValueError(f'FGCLIP2Tokenize: results[{src!r}] is a nested list whose inner '
                             f'lists have different lengths {sorted(sizes)}')
        flat = [text for group in groups for text in group]
        self._check_strings(flat, src)
        ids = self._ids(flat, walk_type)
        return ids.reshape(len(groups), sizes.pop(), ids.shape[-1])

    @staticmethod
    def _check_strings(texts: Sequence, src: str) -> None:
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f'FGCLIP2Tokenize: results[{src!r}][{index}] must be a str, '
                                f'got {type(text).__name__}')

    def __call__(self, results: dict) -> dict:
        return self.transform(results)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(tokenizer={self.tokenizer_cfg}, keys={self.keys}, '
                f'allow_missing={self.allow_missing})')
