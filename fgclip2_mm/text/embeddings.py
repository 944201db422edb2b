"""Text embeddings of an evaluation: free texts and class vocabularies (disk-cached).

A class weight is the normalised mean of the normalised embeddings of its prompts
(``template.format(name)`` for every template; spec §6.1 and §6.4). Vocabulary embeddings
are computed once per (weights, vocabulary, templates, language, walk, tokenizer,
lower-casing) and stored as ``<cache_dir>/<key>.safetensors`` (no pickle). The key hashes:

* the **text tower's weights**: every tensor of ``model.text_encoder.state_dict()`` (name,
  shape, dtype and bytes), so any training step invalidates the entry;
* the **tokenizer**: the bytes of its files and the padded lengths;
* the vocabulary, templates, language, walk and lower-casing flag.
"""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F

from fgclip2_mm.text.tokenization import WALK_TYPES, FGCLIP2Tokenizer
from fgclip2_mm.text import default_cache_dir

TOKENIZER_FILES = ('tokenizer.json', 'tokenizer.model', 'tokenizer_config.json',
                   'special_tokens_map.json', 'added_tokens.json')
#: ``cache_dir`` default meaning :func:`fgclip2_mm.text.default_cache_dir` (``$FGCLIP2_MM_CACHE``
#: honoured, read when the cache is built).
DEFAULT_CACHE_DIR = osp.join('~', '.cache', 'fgclip2_mm', 'text_embeddings')
_TOKENIZER_DIGESTS: Dict[tuple, str] = {}


def weights_digest(module: torch.nn.Module) -> str:
    """blake2b hex digest of a module's state dict (names, shapes, dtypes, bytes)."""
    digest = hashlib.blake2b(digest_size=16)
    for name, tensor in sorted(module.state_dict().items()):
        tensor = tensor.detach().to('cpu').contiguous().reshape(-1)
        digest.update(f'{name}|{tuple(tensor.shape)}|{tensor.dtype}|'.encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def tokenizer_digest(tokenizer: FGCLIP2Tokenizer) -> str:
    """Digest of the tokenizer files (memoised per path, size and mtime) and its lengths."""
    folder = osp.abspath(osp.expanduser(tokenizer.folder))
    stamps = []
    for name in TOKENIZER_FILES:
        path = osp.join(folder, name)
        if osp.isfile(path):
            stat = os.stat(path)
            stamps.append((name, stat.st_size, stat.st_mtime_ns))
    memo_key = (folder, tuple(stamps))
    if memo_key not in _TOKENIZER_DIGESTS:
        digest = hashlib.blake2b(digest_size=16)
        for name, _, _ in stamps:
            digest.update(name.encode())
            with open(osp.join(folder, name), 'rb') as f:
                digest.update(f.read())
        _TOKENIZER_DIGESTS[memo_key] = digest.hexdigest()
    lengths = f'{tokenizer.short_length}/{tokenizer.long_length}/{tokenizer.padding_side}'
    return f'{_TOKENIZER_DIGESTS[memo_key]}-{lengths}'


def vocabulary_key(weights: str, classes: Sequence[str], templates: Sequence[str], lang: str,
                   walk: str, tokenizer: str, lowercase: bool) -> str:
    """Cache key (hex) of one vocabulary embedding; every argument changes it."""
    payload = json.dumps(
        dict(weights=weights, classes=list(classes), templates=list(templates), lang=lang,
             walk=walk, tokenizer=tokenizer, lowercase=bool(lowercase)),
        ensure_ascii=False, sort_keys=True)
    return hashlib.blake2b(payload.encode('utf-8'), digest_size=20).hexdigest()


class TextEmbeddingCache:
    """Vocabulary embeddings on disk, one safetensors file per key.

    Args:
        cache_dir (str, optional): Folder; ``None`` disables the cache. Defaults to
            :data:`DEFAULT_CACHE_DIR`: ``$FGCLIP2_MM_CACHE/text_embeddings`` when that is
            set, else ``~/.cache/fgclip2_mm/text_embeddings``.
    """

    def __init__(self, cache_dir: Optional[str] = DEFAULT_CACHE_DIR) -> None:
        if cache_dir == DEFAULT_CACHE_DIR:
            cache_dir = default_cache_dir()
        self.cache_dir = None if cache_dir is None else osp.expanduser(str(cache_dir))

    def path(self, key: str) -> Optional[str]:
        """File of ``key`` (None when disabled)."""
        return None if self.cache_dir is None else osp.join(self.cache_dir, f'{key}.safetensors')

    def load(self, key: str) -> Optional[torch.Tensor]:
        """The cached (C, D) embeddings of ``key``, or None."""
        path = self.path(key)
        if path is None or not osp.isfile(path):
            return None
        from safetensors.torch import load_file
        return load_file(path)['embeddings']

    def save(self, key: str, embeddings: torch.Tensor, meta: Dict[str, str]) -> None:
        """Write atomically (a temporary file then ``os.replace``; safe across ranks)."""
        path = self.path(key)
        if path is None:
            return
        from safetensors.torch import save_file
        os.makedirs(self.cache_dir, exist_ok=True)
        tmp = f'{path}.{os.getpid()}.tmp'
        save_file({'embeddings': embeddings.detach().cpu().contiguous()}, tmp,
                  metadata={k: str(v) for k, v in meta.items()})
        os.replace(tmp, path)


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def encode_text_list(model, tokenizer: FGCLIP2Tokenizer, texts: Sequence[str], walk: str,
                     lowercase: bool = True, batch_size: int = 256) -> torch.Tensor:
    """L2-normalised fp32 embeddings (N, D) of ``texts`` with ``model.get_text_features``.

    Args:
        model (FGCLIP2): The model (not a DDP wrapper).
        tokenizer (FGCLIP2Tokenizer): A tokenizer built with ``lowercase=False``; lower-casing
            is applied here when ``lowercase`` is True.
        texts (Sequence[str]): The texts.
        walk (str): ``'short'``, ``'box'`` or ``'long'``.
        lowercase (bool): Lower-case the texts first. Defaults to True.
        batch_size (int): Texts per forward. Defaults to 256.
    """
    if walk not in WALK_TYPES:
        raise ValueError(f'walk must be one of {WALK_TYPES}, got {walk!r}')
    texts = [t.lower() for t in texts] if lowercase else list(texts)
    chunks: List[torch.Tensor] = []
    device = _device(model)
    for start in range(0, len(texts), batch_size):
        ids = tokenizer(texts[start:start + batch_size], walk_type=walk).to(device)
        chunks.append(F.normalize(model.get_text_features(ids, walk).float(), dim=-1))
    if not chunks:
        dims = model.text_encoder.arch['proj_dims'] if hasattr(model, 'text_encoder') else 0
        return torch.zeros(0, dims, device=device)
    return torch.cat(chunks)


def vocabulary_embeddings(model,
                          tokenizer: FGCLIP2Tokenizer,
                          classes: Sequence[str],
                          templates: Sequence[str] = ('{}', ),
                          walk: str = 'short',
                          lang: str = 'en',
                          lowercase: bool = True,
                          cache: Optional[TextEmbeddingCache] = None,
                          batch_size: int = 256) -> torch.Tensor:
    """Class weights (C, D): normalised mean of the normalised prompt embeddings.

    Args:
        model (FGCLIP2): The model (not a DDP wrapper).
        tokenizer (FGCLIP2Tokenizer): Tokenizer built with ``lowercase=False``.
        classes (Sequence[str]): Class names, in label order.
        templates (Sequence[str]): Prompt templates with one ``{}``. Defaults to ``('{}',)``.
        walk (str): Text walk. Defaults to ``'short'``.
        lang (str): Language tag (part of the cache key). Defaults to ``'en'``.
        lowercase (bool): Lower-case the prompts. Defaults to True.
        cache (TextEmbeddingCache, optional): Disk cache. Defaults to None (no cache).
        batch_size (int): Prompts per forward. Defaults to 256.

    Returns:
        Tensor: fp32 (C, D) on the model's device, rows L2-normalised.
    """
    templates = list(templates)
    if not templates or any(t.count('{}') != 1 for t in templates):
        raise ValueError(f'templates must be a non-empty list of strings with exactly one '
                         f'"{{}}", got {templates[:3]}...')
    key = None
    if cache is not None and cache.cache_dir is not None:
        module = getattr(model, 'text_encoder', model)
        key = vocabulary_key(weights_digest(module), classes, templates, lang, walk,
                             tokenizer_digest(tokenizer), lowercase)
        cached = cache.load(key)
        if cached is not None and cached.shape[0] == len(classes):
            return cached.to(_device(model))
    prompts = [t.format(name) for name in classes for t in templates]
    emb = encode_text_list(model, tokenizer, prompts, walk, lowercase, batch_size)
    weights = F.normalize(emb.reshape(len(classes), len(templates), -1).mean(1), dim=-1)
    if key is not None:
        cache.save(key, weights, dict(num_classes=len(classes), num_templates=len(templates),
                                      lang=lang, walk=walk, lowercase=lowercase))
    return weights
