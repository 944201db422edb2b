"""Class vocabularies built from annotation files or from the synthetic world."""
from typing import Dict, List, Sequence, Tuple

VOCABULARIES = ('categories', 'colour_shape')


def colour_shape_vocabulary(lang: str, categories: Sequence[dict], source: str = ''
                            ) -> Tuple[List[str], Dict[Tuple[str, str], int]]:
    """Every colour x shape phrase of a synthetic world, shape-major.

    English phrases are ``'red circle'``, Chinese ones ``'红色圆形'`` (the colour and shape
    words the world's captions use). The shapes are the world's categories (its COCO file's
    ``categories``: ``name`` and ``name_zh``), so a world of any profile works.

    Args:
        lang (str): ``'en'`` or ``'zh'``.
        categories (Sequence[dict]): The world's COCO ``categories`` in id order.
        source (str): File name for error messages.

    Returns:
        tuple: ``(phrases, index)`` with ``index[(colour, shape)]`` the label of a phrase
        (English attribute names as keys).
    """
    from fgclip2_mm.synthetic_world.vocabulary import COLOURS
    if lang not in ('en', 'zh'):
        raise ValueError(f"lang must be 'en' or 'zh', got {lang!r}")
    names = category_names(categories, 'name', source=source)
    names_zh = category_names(categories, 'name_zh', source=source)
    phrases, index = [], {}
    for name, name_zh in zip(names, names_zh):
        for colour in COLOURS:
            index[(colour.name, name)] = len(phrases)
            phrases.append(f'{colour.name} {name}' if lang == 'en' else
                           f'{colour.name_zh}{name_zh}')
    return phrases, index


def category_names(categories: Sequence[dict], name_key: str = 'name',
                   replace_underscores: bool = False, source: str = '') -> List[str]:
    """Class names of COCO-style ``categories`` in file order.

    Args:
        categories (Sequence[dict]): The ``categories`` entries.
        name_key (str): Field holding the name (``'name'``; the synthetic world also has
            ``'name_zh'``). Defaults to ``'name'``.
        replace_underscores (bool): ``'_'`` -> ``' '`` (LVIS names such as
            ``'baseball_bat'``). Defaults to False.
        source (str): File name for error messages.
    """
    names = []
    for cat in categories:
        if not isinstance(cat.get(name_key), str):
            raise ValueError(f'{source}: category id {cat.get("id")} has no string '
                             f'{name_key!r} field (keys: {sorted(cat)})')
        name = cat[name_key]
        names.append(name.replace('_', ' ') if replace_underscores else name)
    return names
