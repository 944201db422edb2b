"""Prompt templates and class vocabularies of the zero-shot protocols.

Bundled template lists (data files next to this module, one template per line, each with
exactly one ``{}``):

* ``'imagenet_en'``: the 80 CLIP ImageNet templates (``eval/templates.py`` of the
  reference; used for ImageNet, COCO-80 and LVIS box classification);
* ``'imagenet_zh'``: our 22 natural Chinese prompts;
* ``'none'``: ``('{}',)``, the raw class name (BoxClass-CN);
* ``'synthetic_en'`` / ``'synthetic_zh'``: ``('a {}',)`` / ``('{}',)``, matching how the
  synthetic world's expressions start ('a small red ...', '一个纯红色的...').
"""
import os.path as osp
from typing import Sequence, Tuple, Union

_HERE = osp.dirname(osp.abspath(__file__))
_INLINE = {'none': ('{}', ), 'synthetic_en': ('a {}', ), 'synthetic_zh': ('{}', )}
_FILES = ('imagenet_en', 'imagenet_zh')
TEMPLATE_SETS = tuple(_INLINE) + _FILES


def load_template_file(path: str) -> Tuple[str, ...]:
    """Read a template list (one per line, blank lines ignored, each with one ``{}``)."""
    with open(path, encoding='utf-8') as f:
        lines = [line.rstrip('\n') for line in f]
    templates = tuple(line for line in lines if line.strip())
    bad = [n + 1 for n, line in enumerate(lines) if line.strip() and line.count('{}') != 1]
    if not templates or bad:
        raise ValueError(f'{path}: every template needs exactly one "{{}}" (bad lines {bad}), '
                         f'and the file must not be empty')
    return templates


def resolve_templates(templates: Union[str, Sequence[str]]) -> Tuple[str, ...]:
    """Templates from a bundled name (:data:`TEMPLATE_SETS`), a ``.txt`` file or a list.

    Args:
        templates (str | Sequence[str]): Name, path or list.

    Returns:
        tuple[str, ...]: The templates.
    """
    if isinstance(templates, str):
        if templates in _INLINE:
            return _INLINE[templates]
        if templates in _FILES:
            return load_template_file(osp.join(_HERE, f'{templates}.txt'))
        if templates.endswith('.txt') and osp.isfile(templates):
            return load_template_file(templates)
        raise ValueError(f'unknown templates {templates!r}: expected one of {TEMPLATE_SETS}, '
                         'an existing .txt file or a list of strings')
    out = tuple(templates)
    if not out or any(not isinstance(t, str) or t.count('{}') != 1 for t in out):
        raise ValueError(f'templates must be non-empty strings with exactly one "{{}}", '
                         f'got {out[:3]}')
    return out
