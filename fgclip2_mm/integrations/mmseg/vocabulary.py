"""Class vocabularies and prompt templates for open-vocabulary segmentation.

A vocabulary is a list of classes; each class has one or more **synonyms** (SCLIP's
``cls_<dataset>.txt`` convention: one class per line, synonyms separated by commas; the
Chinese comma ``，`` and the enumeration comma ``、`` also separate). Sources:

- a list of strings (any script; ``'person, man'`` is a class with two synonyms);
- a text file in that format (blank lines and lines starting with ``#`` are skipped);
- ``dict(dataset='fgclip2_mm.PascalVOC21Dataset')``: the registered dataset's ``METAINFO``
  (``classes`` / ``classes_zh`` and, when present, ``synonyms`` / ``synonyms_zh``);
- ``dict(world='data/synthetic')``: a synthetic world's classes from its ``world_meta.json``
  (background first, English and Chinese), whatever the world's profile;
- ``dict(en=<list | file>, zh=<list | file>)``: aligned English and Chinese names.

Names given without a language (a list or a file) are *auto*: each synonym is prompted
with the templates of its own script, so mixed English / Chinese lists work.
"""
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Union

from fgclip2_mm.text import contains_cjk, load_templates  # noqa: F401  (one loader)

DATA_DIR = osp.join(osp.dirname(__file__), 'data')
CLASS_DIR = osp.join(DATA_DIR, 'classes')
LANGUAGES = ('en', 'zh', 'en+zh')
DEFAULT_TEMPLATES = dict(en='seg_en', zh='seg_zh')
_SPLIT = re.compile('[,\uff0c\u3001]')

Synonyms = List[str]


def split_synonyms(line: str) -> Synonyms:
    """``'person, man，人'`` -> ``['person', 'man', '人']`` (blanks dropped)."""
    return [s.strip() for s in _SPLIT.split(line) if s.strip()]


def read_class_file(path: str) -> List[Synonyms]:
    """Read a class file: one class per line, comma-separated synonyms.

    Raises:
        ValueError: Missing file, or no class in it.
    """
    if not osp.isfile(path):
        raise ValueError(f'class file not found: {path!r}')
    classes = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                classes.append(split_synonyms(line))
    if not classes:
        raise ValueError(f'{path}: no class name in the file')
    return classes


def builtin_class_file(key: str) -> str:
    """Path of a class file shipped with the package (``data/classes/<key>.txt``)."""
    path = osp.join(CLASS_DIR, f'{key}.txt')
    if not osp.isfile(path):
        known = sorted(f[:-4] for f in os.listdir(CLASS_DIR) if f.endswith('.txt'))
        raise ValueError(f'no built-in class file {key!r}; available: {known}')
    return path


def display_names(classes: Sequence[Synonyms]) -> List[str]:
    """One unique label per class: its first synonym, disambiguated with the second one
    (``'pot (flowerpot)'``) when several classes share a first synonym."""
    firsts = [c[0] if c else '' for c in classes]
    names = []
    for syns, first in zip(classes, firsts):
        if firsts.count(first) > 1 and len(syns) > 1:
            names.append(f'{first} ({syns[1]})')
        else:
            names.append(first)
    return names


def _names(spec, what: str) -> List[Synonyms]:
    if isinstance(spec, (str, os.PathLike)):
        return read_class_file(os.fspath(spec))
    if isinstance(spec, (list, tuple)):
        classes = []
        for i, item in enumerate(spec):
            if isinstance(item, (list, tuple)):
                syns = [str(s).strip() for s in item if str(s).strip()]
            elif isinstance(item, str):
                syns = split_synonyms(item)
            else:
                raise ValueError(f'{what}: entry {i} must be a string or a list of '
                                 f'synonyms, got {item!r}')
            classes.append(syns)
        if not classes:
            raise ValueError(f'{what}: the vocabulary is empty')
        return classes
    raise ValueError(f'{what} must be a list of class names or a class file, got '
                     f'{type(spec).__name__}')


class ClassVocabulary:
    """Per-class synonym lists in English, Chinese, or of automatic language.

    Args:
        en (list[list[str]], optional): English synonyms per class.
        zh (list[list[str]], optional): Chinese synonyms per class (aligned with ``en``).
        auto (list[list[str]], optional): Names without a declared language (exclusive with
            ``en`` / ``zh``).

    A class may have no synonym at all (an empty list): it gets no text query, which is
    how a background that is decided by the probability threshold alone is written.
    """

    def __init__(self,
                 en: Optional[List[Synonyms]] = None,
                 zh: Optional[List[Synonyms]] = None,
                 auto: Optional[List[Synonyms]] = None) -> None:
        if auto is not None and (en is not None or zh is not None):
            raise ValueError('a vocabulary is either auto or en/zh, not both')
        lists = {k: v for k, v in dict(en=en, zh=zh, auto=auto).items() if v is not None}
        if not lists:
            raise ValueError('the vocabulary has no class names')
        sizes = {k: len(v) for k, v in lists.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f'English and Chinese names must be aligned, got {sizes} classes')
        self.lists: Dict[str, List[Synonyms]] = lists
        self.num_classes = next(iter(sizes.values()))

    @property
    def names(self) -> List[str]:
        """One display name per class (English when available)."""
        key = 'en' if 'en' in self.lists else next(iter(self.lists))
        return display_names(self.lists[key])

    def names_in(self, language: str) -> List[str]:
        """Display names in ``'en'`` or ``'zh'`` (falls back to :attr:`names`)."""
        return display_names(self.lists[language]) if language in self.lists else self.names

    def queries(self, language: str) -> List[List[Dict[str, str]]]:
        """Per class, per synonym slot, the text of each language to embed.

        ``'en'`` / ``'zh'`` use that list (an auto vocabulary is used as it is);
        ``'en+zh'`` pairs the i-th English with the i-th Chinese synonym (the shorter list
        repeats its last synonym), and the two embeddings are averaged.

        Returns:
            list: ``queries[c][j]`` is ``{template language: text}``.
        """
        if language not in LANGUAGES:
            raise ValueError(f'language={language!r} is not supported, expected one of '
                             f'{LANGUAGES}')
        if 'auto' in self.lists:
            if language == 'en+zh':
                raise ValueError('language="en+zh" needs dict(en=[...], zh=[...]) names; '
                                 'this vocabulary has names without a declared language')
            return [[{('zh' if contains_cjk(s) else 'en'): s} for s in syns]
                    for syns in self.lists['auto']]
        needed = ('en', 'zh') if language == 'en+zh' else (language, )
        missing = [k for k in needed if k not in self.lists]
        if missing:
            raise ValueError(f'language={language!r} needs {missing} class names; the '
                             f'vocabulary has {sorted(self.lists)}')
        if language != 'en+zh':
            return [[{language: s} for s in syns] for syns in self.lists[language]]
        out = []
        for en, zh in zip(self.lists['en'], self.lists['zh']):
            if not en or not zh:
                out.append([])
                continue
            slots = max(len(en), len(zh))
            out.append([dict(en=en[min(j, len(en) - 1)], zh=zh[min(j, len(zh) - 1)])
                        for j in range(slots)])
        return out


def _dataset_metainfo(name: str) -> dict:
    from mmseg.registry import DATASETS as MMSEG_DATASETS
    from fgclip2_mm.registry import DATASETS
    cls = DATASETS.get(name) if '.' in name else (DATASETS.get(name)
                                                  or MMSEG_DATASETS.get(name))
    if cls is None:
        raise ValueError(f'vocabulary: unknown dataset type {name!r} (use e.g. '
                         '"fgclip2_mm.PascalVOC21Dataset" or an mmseg dataset name)')
    return getattr(cls, 'METAINFO', {})


def resolve_vocabulary(spec) -> ClassVocabulary:
    """Build a :class:`ClassVocabulary` from any accepted source (module docstring)."""
    if isinstance(spec, ClassVocabulary):
        return spec
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - {'dataset', 'world', 'en', 'zh'})
        single = [k for k in ('dataset', 'world') if k in spec]
        if unknown or not spec or (single and len(spec) > 1):
            raise ValueError('a vocabulary dict is dict(dataset=<type>), dict(world=<synthetic '
                             f'world root>) or dict(en=..., zh=...), got keys {sorted(spec)}')
        if 'world' in spec:
            from fgclip2_mm.synthetic_world.world_info import (read_world_meta,
                                                                  segmentation_metainfo)
            meta = segmentation_metainfo(read_world_meta(spec['world']))
            return ClassVocabulary(en=_names(list(meta['classes']), 'world classes'),
                                   zh=_names(list(meta['classes_zh']), 'world classes_zh'))
        if 'dataset' in spec:
            meta = _dataset_metainfo(spec['dataset'])
            if 'classes' not in meta:
                raise ValueError(f'dataset {spec["dataset"]!r} has no METAINFO classes')
            en = meta.get('synonyms') or meta['classes']
            zh = meta.get('synonyms_zh') or meta.get('classes_zh')
            return ClassVocabulary(
                en=_names(list(en), f'{spec["dataset"]} classes'),
                zh=_names(list(zh), f'{spec["dataset"]} classes_zh') if zh else None)
        return ClassVocabulary(
            en=_names(spec['en'], 'vocabulary.en') if 'en' in spec else None,
            zh=_names(spec['zh'], 'vocabulary.zh') if 'zh' in spec else None)
    return ClassVocabulary(auto=_names(spec, 'vocabulary'))
