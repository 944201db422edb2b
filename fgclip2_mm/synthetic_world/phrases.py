"""English and Chinese noun phrases for one object, and their exact inverse (a parser).

Three phrase forms per language:

* short expression, indefinite: 'a large red striped star' / '一颗红色条纹的大五角星';
* descriptive form used in long texts: 'a large red star with stripes' (EN only; the
  Chinese long form is built from a compact core such as '红色条纹大五角星');
* reference, definite: 'the small blue circle' / '蓝色小圆形', with the pattern added only
  when needed to make the reference unique in the image.

The Chinese is written as Chinese, not word-by-word English: measure words (个, 颗),
attributes before the noun with 的, '纯红色' for solid, '带圆点的' for dotted.
"""
from functools import lru_cache
from typing import Dict, Optional

from .scene import Attributes
from .vocabulary import (COLOUR_BY_NAME, COLOURS, PATTERNS, SHAPE_BY_NAME, SHAPES,
                         SIZE_BY_NAME, SIZES)

_PATTERN_WITH_EN = {'striped': 'with stripes', 'dotted': 'with dots',
                    'checkered': 'with a checkered pattern'}
_RELATION_EN = {'left_of': 'to the left of', 'right_of': 'to the right of', 'above': 'above',
                'below': 'below', 'next_to': 'next to', 'inside': 'inside',
                'contains': 'containing'}
# Chinese relative clauses '位于X左边的…' are built as prefix + reference + suffix.
RELATION_ZH = {'left_of': ('位于', '左边'), 'right_of': ('位于', '右边'),
               'above': ('位于', '上方'), 'below': ('位于', '下方'),
               'next_to': ('紧挨着', ''), 'inside': ('位于', '里面'),
               'contains': ('里面有', '')}
_POSITION_ZH = {'left_of': '的左边', 'right_of': '的右边', 'above': '的上方',
                'below': '的下方', 'inside': '里面'}
# Location in the image: (preposition, noun phrase), e.g. 'at' + 'the top'.
LOCATION_EN = {'top left': ('in', 'the top left corner'), 'top': ('at', 'the top'),
               'top right': ('in', 'the top right corner'), 'left': ('on', 'the left side'),
               'center': ('in', 'the center'), 'right': ('on', 'the right side'),
               'bottom left': ('in', 'the bottom left corner'), 'bottom': ('at', 'the bottom'),
               'bottom right': ('in', 'the bottom right corner')}
LOCATION_ZH = {'top left': '左上角', 'top': '上方', 'top right': '右上角', 'left': '左侧',
               'center': '中间', 'right': '右侧', 'bottom left': '左下角', 'bottom': '下方',
               'bottom right': '右下角'}


def _size_en(attrs: Attributes) -> str:
    return SIZE_BY_NAME[attrs.size].adjective


def short_expression_en(attrs: Attributes) -> str:
    """'a large red striped star', 'a small solid blue circle'."""
    if attrs.pattern == 'solid':
        return f'a {_size_en(attrs)} solid {attrs.colour} {attrs.shape}'
    return f'a {_size_en(attrs)} {attrs.colour} {attrs.pattern} {attrs.shape}'


def descriptive_en(attrs: Attributes) -> str:
    """'a large red star with stripes': the form used inside long texts."""
    if attrs.pattern == 'solid':
        return short_expression_en(attrs)
    return (f'a {_size_en(attrs)} {attrs.colour} {attrs.shape} '
            f'{_PATTERN_WITH_EN[attrs.pattern]}')


def reference_en(attrs: Attributes, with_pattern: bool) -> str:
    """'the small blue circle' (or 'the small blue dotted circle' when needed)."""
    if not with_pattern:
        return f'the {_size_en(attrs)} {attrs.colour} {attrs.shape}'
    return 'the' + short_expression_en(attrs)[1:]


def _core_zh(attrs: Attributes, compact: bool) -> str:
    """Chinese noun phrase without measure word: '红色条纹的大五角星' (compact drops 的)."""
    colour = COLOUR_BY_NAME[attrs.colour].name_zh
    size = SIZE_BY_NAME[attrs.size].name_zh
    noun = size + SHAPE_BY_NAME[attrs.shape].name_zh
    de = '' if compact else '的'
    if attrs.pattern == 'solid':
        return f'纯{colour}{de}{noun}'
    if attrs.pattern == 'striped':
        return f'{colour}条纹{de}{noun}'
    if attrs.pattern == 'dotted':
        return f'带圆点的{colour}{noun}'
    return f'{colour}格子{de}{noun}'


def _one_zh(attrs: Attributes) -> str:
    return '一' + SHAPE_BY_NAME[attrs.shape].measure_zh


def short_expression_zh(attrs: Attributes) -> str:
    """'一颗红色条纹的大五角星', '一个带圆点的蓝色小圆形'."""
    return _one_zh(attrs) + _core_zh(attrs, compact=False)


def reference_zh(attrs: Attributes, with_pattern: bool) -> str:
    """'蓝色小圆形' (or '带圆点的蓝色小圆形' when the pattern is needed)."""
    if with_pattern:
        return _core_zh(attrs, compact=True)
    colour = COLOUR_BY_NAME[attrs.colour].name_zh
    return colour + SIZE_BY_NAME[attrs.size].name_zh + SHAPE_BY_NAME[attrs.shape].name_zh


def long_expression_en(attrs: Attributes, relation: Optional[str] = None,
                       reference: Optional[str] = None,
                       location: Optional[str] = None) -> str:
    """'a large red star with stripes to the left of the small blue circle'.

    Args:
        attrs (Attributes): The described object.
        relation (str, optional): Relation key (see :mod:`.relations`).
        reference (str, optional): Definite English reference of the other object.
        location (str, optional): Coarse location used when there is no relation.

    Returns:
        str: The long expression.
    """
    if relation is not None:
        return f'{descriptive_en(attrs)} {_RELATION_EN[relation]} {reference}'
    preposition, place = LOCATION_EN[location]
    return f'{descriptive_en(attrs)} {preposition} {place} of the image'


def long_expression_zh(attrs: Attributes, relation: Optional[str] = None,
                       reference: Optional[str] = None,
                       location: Optional[str] = None) -> str:
    """'一颗位于蓝色小圆形左边的红色条纹大五角星' (same arguments as the English)."""
    if relation is not None:
        prefix, suffix = RELATION_ZH[relation]
        clause = f'{prefix}{reference}{suffix}'
    else:
        clause = f'位于画面{LOCATION_ZH[location]}'
    return f'{_one_zh(attrs)}{clause}的{_core_zh(attrs, compact=True)}'


def relation_sentence_en(subject: str, relation: str, reference: str) -> str:
    """'The small blue circle is inside the large yellow ring.'"""
    if relation == 'contains':
        return f'{subject[0].upper()}{subject[1:]} contains {reference}.'
    return f'{subject[0].upper()}{subject[1:]} is {_RELATION_EN[relation]} {reference}.'


def relation_sentence_zh(subject: str, relation: str, reference: str) -> str:
    """'蓝色小圆形在黄色大圆环里面。'"""
    if relation == 'contains':
        return f'{subject}里面有{reference}。'
    if relation == 'next_to':
        return f'{subject}紧挨着{reference}。'
    return f'{subject}在{reference}{_POSITION_ZH[relation]}。'


@lru_cache(maxsize=None)
def _short_expression_index() -> Dict[str, Dict[str, Attributes]]:
    index = {'en': {}, 'zh': {}}
    for shape in SHAPES:
        for colour in COLOURS:
            for pattern in PATTERNS:
                for size in SIZES:
                    attrs = Attributes(shape.name, colour.name, pattern.name, size.name)
                    index['en'][short_expression_en(attrs)] = attrs
                    index['zh'][short_expression_zh(attrs)] = attrs
    return index


def parse_short_expression(text: str, lang: str) -> Attributes:
    """Recover the attributes of a short expression (exact inverse of the writers).

    Args:
        text (str): A short expression or negative; English is matched case-insensitively.
        lang (str): 'en' or 'zh'.

    Returns:
        Attributes: shape, colour, pattern and size.
    """
    if lang not in ('en', 'zh'):
        raise ValueError(f"lang must be 'en' or 'zh', got {lang!r}")
    key = text.strip().lower() if lang == 'en' else text.strip()
    try:
        return _short_expression_index()[lang][key]
    except KeyError:
        raise ValueError(f'not a short expression of the synthetic world: {text!r}') from None
