"""Prompt templates: every built-in set, one name each, and the one loader.

Built-in sets (``template_sets/<name>.txt``, one template per line, ``#`` comments):

===================================  ========================================================
name                                 what, used by
===================================  ========================================================
``imagenet_en`` / ``imagenet_zh``    the 80 CLIP ImageNet prompts (the reference's
                                     ``eval/templates.py``) / our 22 Chinese ones: zero-shot
                                     classification and box classification
``plain``                            the bare class name (``'{}'``): BoxClass-CN, ablations
``ovd_en`` / ``ovd_zh``              OV detection prompts
``vild_en``                          ViLD's 63 prompts with F-ViT's ``{article}``
``seg_en`` / ``seg_zh``              OV segmentation prompts
``synthetic_bare_en`` / ``_zh``      synthetic world, evaluation: ``'a {}'`` / ``'{}'``
``synthetic_mixed_en`` / ``_zh``     synthetic world, OV detection: sizes, colours, patterns
``synthetic_size_en`` / ``_zh``      synthetic world, OV segmentation: the four sizes
``synthetic_attr_en`` / ``_zh``      synthetic world, OV segmentation: every size x colour x
                                     pattern (132)
===================================  ========================================================

Old names that meant different sets in different places (``'synthetic_en'``) or the same
set under two names (``'none'``) are refused with the names to use.
"""
import os
import os.path as osp
from typing import List, Sequence, Tuple, Union

TEMPLATE_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'template_sets')
#: F-ViT's article placeholder (``'a'`` / ``'an'`` by the name), filled by the mmdet glue.
ARTICLE = '{article}'
#: Retired names -> what to write instead.
RENAMED = {
    'none': "'plain'",
    'synthetic_en': "'synthetic_bare_en' (evaluation: 'a {}'), 'synthetic_mixed_en' (OV "
                    "detection: sizes, colours, patterns) or 'synthetic_size_en' (OV "
                    "segmentation: sizes)",
    'synthetic_zh': "'synthetic_bare_zh', 'synthetic_mixed_zh' or 'synthetic_size_zh' (as "
                    "for 'synthetic_en')",
}


def template_sets() -> Tuple[str, ...]:
    """The names of the built-in sets."""
    return tuple(sorted(f[:-4] for f in os.listdir(TEMPLATE_DIR) if f.endswith('.txt')))


def load_templates(spec: Union[str, Sequence[str]],
                   placeholders: Sequence[str] = ()) -> List[str]:
    """Templates from a built-in set name, a ``.txt`` file or a list.

    Args:
        spec (str | Sequence[str]): A name of :func:`template_sets`, a file (one template
            per line, ``#`` comments, blank lines ignored) or the templates.
        placeholders (Sequence[str]): Braced fields allowed besides ``'{}'`` (the mmdet
            glue allows :data:`ARTICLE`). Defaults to none.

    Returns:
        list[str]: The templates, each with exactly one ``'{}'``.

    Raises:
        ValueError: A retired name (the names to use instead), an unknown set (the built-in
            ones listed) or missing file, no template, or a template without exactly one
            ``'{}'`` or with another braced field.
    """
    if isinstance(spec, (str, os.PathLike)):
        spec = os.fspath(spec)
        if spec in RENAMED:
            raise ValueError(f'templates {spec!r} is retired (it named different sets in '
                             f'different places): use {RENAMED[spec]}')
        path = spec if osp.isfile(spec) else osp.join(TEMPLATE_DIR, f'{spec}.txt')
        if not osp.isfile(path):
            raise ValueError(f'templates {spec!r} is neither a file nor a built-in set; '
                             f'built-in sets: {list(template_sets())}')
        with open(path, encoding='utf-8') as f:
            templates = [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith('#')]
        source = path
    elif isinstance(spec, (list, tuple)):
        templates, source = list(spec), 'the template list'
    else:
        raise ValueError(f'templates must be a set name, a file or a list of strings, got '
                         f'{type(spec).__name__}')
    if not templates:
        raise ValueError(f'no template in {source}')
    for template in templates:
        if not isinstance(template, str) or template.count('{}') != 1:
            raise ValueError(f'template {template!r} in {source} must be a string with '
                             'exactly one "{}"')
        rest = template.replace('{}', '')
        for field in placeholders:
            rest = rest.replace(field, '')
        if '{' in rest or '}' in rest:
            allowed = ', '.join(['"{}" (the name)'] + [f'"{p}"' for p in placeholders])
            raise ValueError(f'template {template!r} in {source}: only {allowed} may be in '
                             'braces')
    return templates
