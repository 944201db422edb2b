"""Class text embeddings from the FG-CLIP 2 box walk, with prompt templates and a disk cache.

A class embedding is the L2-normalised mean over templates of the L2-normalised box-walk
embeddings of ``template.format(name)`` (prompt ensembling; ``_`` in names, as in LVIS's
``aerosol_can``, becomes a space). Templates may hold ``{article}`` (``a`` / ``an``), as
ViLD's do (the built-in set ``vild_en``, F-ViT's prompts); ``name_style='vild'`` prepares
names as F-ViT does. Languages:

- ``'en'``: the English names with the English templates;
- ``'zh'``: the Chinese names (``classes_zh``) with the Chinese templates;
- ``'en+zh'``: the normalised mean of the two (both name lists needed);
- ``'auto'``: every name with the templates of its own script (a name with a CJK character
  gets the Chinese ones), for free-form, mixed vocabularies such as ``'红色的圆形 . square'``.

The encoding and the disk cache are the evaluation package's
(:func:`fgclip2_mm.text.embeddings.vocabulary_embeddings` with a
``TextEmbeddingCache``: one safetensors file per text-tower weights, tokenizer, vocabulary,
templates, language and walk), so a vocabulary costs one text-tower pass per machine and
detection shares cache entries with the zero-shot evaluation.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F

from fgclip2_mm.text import CACHE_ENV, contains_cjk, default_cache_dir  # noqa: F401
from fgclip2_mm.text import templates as text_templates
from fgclip2_mm.text.templates import ARTICLE

LANGUAGES = ('en', 'zh', 'en+zh', 'auto')
#: ``'plain'``: ``_`` -> space, prompts lower-cased (our default). ``'vild'``: F-ViT's
#: ``processed_name`` (wusize/CLIPSelf F-ViT/tools/clip_utils.py:9-15: ``_`` -> space,
#: ``/`` -> `` or ``, lower-case, trailing ``.`` dropped) on English names, prompts kept
#: as written (F-ViT does not lower-case them: "There is a ...", "This is a ...").
NAME_STYLES = ('plain', 'vild')


def article(name: str) -> str:
    """``'an'`` when ``name`` starts with a lower-case vowel, else ``'a'`` (F-ViT's
    ``article``, clip_utils.py:5-6, applied to the raw class name)."""
    return 'an' if name[:1] in tuple('aeiou') else 'a'


def display_name(name: str, style: str = 'plain', lang: str = 'en') -> str:
    """The class name as it goes into the prompts (see :data:`NAME_STYLES`)."""
    if style == 'vild' and lang == 'en':
        return name.replace('_', ' ').replace('/', ' or ').lower().rstrip('.')
    return name.replace('_', ' ')
DEFAULT_TEMPLATES = dict(en='ovd_en', zh='ovd_zh')


def load_templates(spec: Union[str, Sequence[str]]) -> List[str]:
    """:func:`fgclip2_mm.text.load_templates` with F-ViT's ``{article}`` allowed (built-in
    sets: ``ovd_en``, ``ovd_zh``, ``vild_en``, ``synthetic_mixed_en`` / ``_zh``, ...)."""
    return text_templates.load_templates(spec, placeholders=(ARTICLE, ))


def checkpoint_arch(folder: str) -> dict:
    """The complete arch dict of a :func:`fgclip2_mm.apis.load_fgclip2` folder, read from
    its config file only (no weights are loaded).

    Raises:
        ValueError: Not a checkpoint folder, or a config file that is empty, not JSON or
            holds an invalid size (the message starts with the file and names the key;
            :func:`~fgclip2_mm.models.utils.model_config.read_model_config`, the one
            validated reader).
    """
    from fgclip2_mm.models.utils.checkpoint_folder import read_folder_config
    return read_folder_config(os.fspath(folder))[2]  # cached: shared with the backbone's read


class FGCLIP2TextEmbedder:
    """Encode class vocabularies with an FG-CLIP 2 checkpoint's box walk (cached on disk).

    The text tower is loaded on first use and kept (the cache key hashes its weights); the
    vision tower of the checkpoint is dropped right after loading.

    Args:
        checkpoint (str): A :func:`fgclip2_mm.apis.load_fgclip2` folder.
        tokenizer (str, optional): Tokenizer folder. Defaults to ``checkpoint``.
        templates (dict, optional): ``{'en': spec, 'zh': spec}`` (see
            :func:`load_templates`). Defaults to :data:`DEFAULT_TEMPLATES`.
        walk_type (str): Text walk. Defaults to ``'box'`` (region phrases).
        cache_dir (str | bool, optional): Cache folder; None for
            :func:`default_cache_dir`, False to disable the cache.
        batch_size (int): Prompts per text-tower pass. Defaults to 256.
        name_style (str): How names enter the prompts, one of :data:`NAME_STYLES`.
            Defaults to ``'plain'``.
    """

    def __init__(self,
                 checkpoint: str,
                 tokenizer: Optional[str] = None,
                 templates: Optional[dict] = None,
                 walk_type: str = 'box',
                 cache_dir: Union[str, bool, None] = None,
                 batch_size: int = 256,
                 name_style: str = 'plain') -> None:
        if not isinstance(checkpoint, (str, os.PathLike)) or not osp.isdir(checkpoint):
            raise ValueError(f'text_embeddings.checkpoint must be an FG-CLIP 2 checkpoint '
                             f'folder, got {checkpoint!r}')
        self.checkpoint = os.fspath(checkpoint)
        self.tokenizer_dir = os.fspath(tokenizer) if tokenizer else self.checkpoint
        spec = dict(DEFAULT_TEMPLATES, **(templates or {}))
        unknown = sorted(set(spec) - {'en', 'zh'})
        if unknown:
            raise ValueError(f'templates keys must be "en" and/or "zh", got {unknown}')
        self.templates = {lang: load_templates(s) for lang, s in spec.items()}
        self.walk_type = walk_type
        self.cache_dir = default_cache_dir() if cache_dir is None else cache_dir
        self.batch_size = int(batch_size)
        if name_style not in NAME_STYLES:
            raise ValueError(f'text_embeddings.name_style={name_style!r} is not supported, '
                             f'expected one of {NAME_STYLES}')
        self.name_style = name_style
        self._model = None
        self._tokenizer = None

    def _load(self) -> None:
        if self._model is None:
            from fgclip2_mm.apis import load_fgclip2
            from fgclip2_mm.text.tokenization import FGCLIP2Tokenizer
            self._model = load_fgclip2(self.checkpoint)
            self._model.vision_backbone = None  # only the text tower is used: free the rest
            text = self._model.text_encoder  # pad to the tower's own position counts
            self._tokenizer = FGCLIP2Tokenizer(self.tokenizer_dir, lowercase=False,
                                               short_length=text.max_len,
                                               long_length=text.long_len)

    def prompts(self, name: str, lang: str) -> List[str]:
        """The prompts of one class name with ``lang``'s templates (before the tokenizer;
        lower-cased there unless ``name_style='vild'``)."""
        shown = display_name(name, self.name_style, lang)
        return [t.replace(ARTICLE, article(name)).format(shown) for t in self.templates[lang]]

    def _prompted(self, names: Sequence[str], lang: str) -> torch.Tensor:
        """(C, D) prompt-ensembled embeddings of ``names`` with ``lang``'s templates; names
        are grouped by article when the templates hold ``{article}``."""
        from fgclip2_mm.text.embeddings import TextEmbeddingCache, vocabulary_embeddings
        self._load()
        cache = TextEmbeddingCache(self.cache_dir) if self.cache_dir else None
        templates = self.templates[lang]
        groups = {}  # article (or None) -> indices of names
        for i, name in enumerate(names):
            key = article(name) if any(ARTICLE in t for t in templates) else None
            groups.setdefault(key, []).append(i)
        out = torch.empty(0)
        with torch.inference_mode():
            for key, idx in groups.items():
                embeds = vocabulary_embeddings(
                    self._model, self._tokenizer,
                    [display_name(names[i], self.name_style, lang) for i in idx],
                    [t.replace(ARTICLE, key) for t in templates] if key else templates,
                    walk=self.walk_type, lang=lang, lowercase=self.name_style != 'vild',
                    cache=cache, batch_size=self.batch_size).float().cpu()
                if out.numel() == 0:
                    out = embeds.new_empty(len(names), embeds.shape[1])
                out[idx] = embeds
        return out

    def encode(self,
               classes: Sequence[str],
               language: str = 'en',
               classes_zh: Optional[Sequence[str]] = None) -> torch.Tensor:
        """Class embeddings (C, D), L2-normalised, float32, on the CPU.

        Args:
            classes (Sequence[str]): Names (English for ``'en'`` / ``'en+zh'``, any script
                for ``'auto'``).
            language (str): One of :data:`LANGUAGES`. Defaults to ``'en'``.
            classes_zh (Sequence[str], optional): Chinese names aligned with ``classes``
                (``'zh'``, ``'en+zh'``).
        """
        if language not in LANGUAGES:
            raise ValueError(f'language={language!r} is not supported, expected one of '
                             f'{LANGUAGES}')
        classes = list(classes)
        if language in ('zh', 'en+zh'):
            if classes_zh is None or len(classes_zh) != len(classes):
                raise ValueError(f'language={language!r} needs classes_zh with one Chinese '
                                 f'name per class ({len(classes)}), got '
                                 f'{None if classes_zh is None else len(classes_zh)}')
        if language == 'en':
            return self._prompted(classes, 'en')
        if language == 'zh':
            return self._prompted(list(classes_zh), 'zh')
        if language == 'en+zh':
            both = self._prompted(classes, 'en') + self._prompted(list(classes_zh), 'zh')
            return F.normalize(both, dim=-1)
        is_zh = [contains_cjk(name) for name in classes]
        out: List[Optional[torch.Tensor]] = [None] * len(classes)
        for lang, flag in (('en', False), ('zh', True)):
            idx = [i for i, z in enumerate(is_zh) if z == flag]
            if idx:
                for i, row in zip(idx, self._prompted([classes[i] for i in idx], lang)):
                    out[i] = row
        return torch.stack(out)
