"""Image-level and object-level texts of a scene, in English and Chinese.

Both languages are generated from the same choices (salient objects, template index,
references), so the English and the Chinese describe the same content.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .phrases import (LOCATION_EN, LOCATION_ZH, RELATION_ZH, descriptive_en,
                      long_expression_en, long_expression_zh, reference_en, reference_zh,
                      relation_sentence_en, relation_sentence_zh, short_expression_en,
                      short_expression_zh)
from .relations import LOCATIONS, location_of
from .scene import Scene
from .vocabulary import (BACKGROUND_BY_NAME, BACKGROUNDS, COLOURS, SHAPES, SIZES,
                         TEXTURE_BY_NAME, TEXTURES)

NUMBERS_EN = ('one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight')
NUMBERS_ZH = ('一', '两', '三', '四', '五', '六', '七', '八')
NUM_SHORT_TEMPLATES = 3
# Relation sentences stop before an English long caption passes this many words (about
# 1.25 tokens each), so that the whole caption fits the 196-token long text walk.
LONG_CAPTION_MAX_WORDS = 140
Referents = Sequence[Tuple[int, Optional[str]]]


def _indefinite(word: str) -> str:
    """'a beige', 'an ivory'."""
    return ('an ' if word[0] in 'aeiou' else 'a ') + word


def _join_en(items: List[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ', '.join(items[:-1]) + ' and ' + items[-1]


def _join_zh(items: List[str]) -> str:
    if len(items) == 1:
        return items[0]
    return '、'.join(items[:-1]) + '和' + items[-1]


def _needs_pattern(scene: Scene) -> List[bool]:
    """True where size + colour + shape alone would not single the object out."""
    keys = [(o.attrs.shape, o.attrs.colour, o.attrs.size) for o in scene.objects]
    return [keys.count(k) > 1 for k in keys]


def object_texts(scene: Scene, referents: Referents) -> List[Dict[str, Dict[str, str]]]:
    """Short and long expressions of every object.

    Args:
        scene (Scene): The placed scene.
        referents (Sequence[tuple[int, str | None]]): Output of
            :func:`~.relations.choose_referents`.

    Returns:
        list[dict]: Per object ``{'en': {'short', 'long'}, 'zh': {'short', 'long'}}``.
    """
    need_pattern = _needs_pattern(scene)
    texts = []
    for obj, (ref, relation) in zip(scene.objects, referents):
        if relation is None:
            location = location_of(obj, scene.width, scene.height)
            long_en = long_expression_en(obj.attrs, location=location)
            long_zh = long_expression_zh(obj.attrs, location=location)
        else:
            other = scene.objects[ref].attrs
            long_en = long_expression_en(obj.attrs, relation,
                                         reference_en(other, need_pattern[ref]))
            long_zh = long_expression_zh(obj.attrs, relation,
                                         reference_zh(other, need_pattern[ref]))
        texts.append({'en': {'short': short_expression_en(obj.attrs), 'long': long_en},
                      'zh': {'short': short_expression_zh(obj.attrs), 'long': long_zh}})
    return texts


def _short_captions(scene: Scene, rng: np.random.Generator) -> Dict[str, List[str]]:
    """Three paraphrases naming the 1-3 most visible objects, same template per language."""
    visible = np.bincount(scene.owner.ravel() + 1, minlength=len(scene.objects) + 1)[1:]
    order = sorted(range(len(scene.objects)), key=lambda i: (-int(visible[i]), i))
    num_named = min(len(order), int(rng.integers(1, 4)))
    named = [scene.objects[i].attrs for i in order[:num_named]]
    rest = len(order) - num_named
    items_en = [short_expression_en(a) for a in named]
    if rest:
        items_en.append('one more shape' if rest == 1 else f'{NUMBERS_EN[rest - 1]} more shapes')
    list_en = _join_en(items_en)
    list_zh = _join_zh([short_expression_zh(a) for a in named])
    if rest:
        list_zh += '，以及另一个图形' if rest == 1 else f'，以及另外{NUMBERS_ZH[rest - 1]}个图形'
    bg = BACKGROUND_BY_NAME[scene.background]
    background_en = f'{_indefinite(bg.name)} background'
    english = [list_en, f'{list_en} on {background_en}', f'{background_en} with {list_en}']
    chinese = [list_zh, f'{bg.name_zh}背景上的{list_zh}', f'{bg.name_zh}背景上有{list_zh}']
    first = int(rng.integers(NUM_SHORT_TEMPLATES))
    order_t = [first] + [t for t in range(NUM_SHORT_TEMPLATES) if t != first]
    return {'en': [english[t] for t in order_t], 'zh': [chinese[t] for t in order_t]}


def _long_captions(scene: Scene, referents: Referents) -> Dict[str, str]:
    """Background, every object by location, then one sentence per related pair (while the
    English stays under :data:`LONG_CAPTION_MAX_WORDS` words)."""
    count = len(scene.objects)
    bg = BACKGROUND_BY_NAME[scene.background]
    texture = TEXTURE_BY_NAME[scene.texture]
    bg_en = f'{_indefinite(bg.name)} background' + (f' {texture.phrase}' if texture.phrase else '')
    head = 'A single shape' if count == 1 else f'{NUMBERS_EN[count - 1].capitalize()} shapes'
    english = [f'{head} on {bg_en}.']
    chinese = [f'{texture.phrase_zh}{bg.name_zh}背景上有{NUMBERS_ZH[count - 1]}个图形。']
    locations = [location_of(o, scene.width, scene.height) for o in scene.objects]
    for location in LOCATIONS:
        members = [o.attrs for o, loc in zip(scene.objects, locations) if loc == location]
        if not members:
            continue
        preposition, place = LOCATION_EN[location]
        verb = 'is' if len(members) == 1 else 'are'
        english.append(f'{preposition.capitalize()} {place}, there {verb} '
                       f'{_join_en([descriptive_en(a) for a in members])}.')
        chinese.append(f'{LOCATION_ZH[location]}有'
                       f'{_join_zh([short_expression_zh(a) for a in members])}。')
    need_pattern = _needs_pattern(scene)
    described = set()
    num_words = sum(len(sentence.split()) for sentence in english)
    for i, (j, relation) in enumerate(referents):
        if relation is None or frozenset((i, j)) in described:
            continue
        described.add(frozenset((i, j)))
        a, b = scene.objects[i].attrs, scene.objects[j].attrs
        sentence = relation_sentence_en(reference_en(a, need_pattern[i]), relation,
                                        reference_en(b, need_pattern[j]))
        num_words += len(sentence.split())
        if num_words > LONG_CAPTION_MAX_WORDS:
            break
        english.append(sentence)
        chinese.append(relation_sentence_zh(reference_zh(a, need_pattern[i]), relation,
                                            reference_zh(b, need_pattern[j])))
    return {'en': ' '.join(english), 'zh': ''.join(chinese)}


def image_captions(scene: Scene, referents: Referents,
                   rng: np.random.Generator) -> Dict[str, Dict[str, object]]:
    """Short caption (+2 paraphrases) and long caption in both languages.

    Args:
        scene (Scene): The placed scene.
        referents (Sequence[tuple[int, str | None]]): Chosen relations per object.
        rng (np.random.Generator): The image's generator.

    Returns:
        dict: ``{'en': {'short', 'short_variants', 'long'}, 'zh': {...}}``.
    """
    shorts = _short_captions(scene, rng)
    longs = _long_captions(scene, referents)
    return {lang: {'short': shorts[lang][0], 'short_variants': shorts[lang][1:],
                   'long': longs[lang]} for lang in ('en', 'zh')}


def chinese_lexicon() -> List[str]:
    """The Chinese words the texts are built from, for word-level tokenizer training.

    Text between two lexicon words forms its own unit, so only content and structure
    words need listing; single-character words such as 的 keep pieces from spanning words.
    """
    words = {'一个', '一颗', '的', '和', '在', '有', '带', '纯', '条纹', '格子', '圆点', '画面',
             '背景', '图形', '以及', '另外'}
    words.update(NUMBERS_ZH)
    words.update(LOCATION_ZH.values())
    words.update(w for pair in RELATION_ZH.values() for w in pair if w)
    for group in (COLOURS, SHAPES, SIZES, BACKGROUNDS):
        words.update(item.name_zh for item in group)
    words.update(t.phrase_zh.rstrip('的') for t in TEXTURES if t.phrase_zh)
    return sorted(words, key=lambda w: (-len(w), w))
