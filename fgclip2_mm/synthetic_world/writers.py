"""Text-side output formats built from the image records.

* FineHARD records (spec §5.2), English and Chinese (Chinese adds ``is_cn``);
* Chinese image-text pairs (spec §5.3);
* retrieval lists ``{image, captions}``;
* FG-OVD jsonl lines ``{img_path, bbox (xywh px), pos_expression, neg_expression}``;
* ImageNet-style classification lists ``path label``.
"""
import zlib
from typing import Dict, List, Sequence

import numpy as np

from .negatives import LEVELS, NUM_NEGATIVES, trivial_negatives
from .phrases import short_expression_en, short_expression_zh
from .scene import Attributes

BOX_DECIMALS = 6  # normalised coordinates
FGOVD_LEVELS = tuple(LEVELS) + ('trivial', )


def _normalised_box(bbox: Sequence[float], width: int, height: int) -> List[float]:
    x, y, w, h = bbox
    return [round(x / width, BOX_DECIMALS), round(y / height, BOX_DECIMALS),
            round((x + w) / width, BOX_DECIMALS), round((y + h) / height, BOX_DECIMALS), 1.0]


#: Of the 10 negatives of a FineHARD training box, how many swap the shape (the noun) and
#: keep colour, pattern and size; the others change one attribute (the FG-OVD 'hard' ones).
#: Without them no training text contrasts shapes of one colour, and a small model learns
#: colour, pattern and size but leaves shape at chance (measured: box classification over
#: colour x shape at 0.09 after the quick start's pretraining).
SHAPE_SWAP_NEGATIVES = 3


def _training_negatives(obj: dict, file_name: str, index: int, lang: str,
                        shapes: Sequence[str]) -> List[str]:
    """The 10 negatives of a FineHARD training box (see :data:`SHAPE_SWAP_NEGATIVES`);
    identical choices in both languages (the generator is seeded by image and box)."""
    attrs = Attributes(**obj['attributes'])
    keep = NUM_NEGATIVES - SHAPE_SWAP_NEGATIVES
    rng = np.random.default_rng([zlib.crc32(file_name.encode('utf-8')), index])
    others = [name for name in shapes if name != attrs.shape]
    swaps = [attrs._replace(shape=others[i])
             for i in rng.permutation(len(others))[:SHAPE_SWAP_NEGATIVES]]
    write = short_expression_en if lang == 'en' else short_expression_zh
    return list(obj['negatives']['hard'][lang][:keep]) + [write(n) for n in swaps]


def finehard_records(records: Sequence[dict], lang: str, shapes: Sequence[str]) -> List[dict]:
    """FineHARD records: long/short caption and per-box expressions with 10 negatives
    (7 change colour, pattern or size; 3 change the shape, see :data:`SHAPE_SWAP_NEGATIVES`).

    Args:
        records (Sequence[dict]): Detection image records of one split.
        lang (str): 'en' or 'zh'; Chinese records also carry ``is_cn: true``.
        shapes (Sequence[str]): The world's shape names (shape-swap negatives).

    Returns:
        list[dict]: One record per image.
    """
    out = []
    for record in records:
        boxes = []
        for index, obj in enumerate(record['objects']):
            negatives = _training_negatives(obj, record['file_name'], index, lang, shapes)
            boxes.append({
                'bbox': _normalised_box(obj['bbox'], record['width'], record['height']),
                'short_expr': obj['texts'][lang]['short'],
                'long_expr': obj['texts'][lang]['long'],
                'flag_short_neg': 1,
                'short_expr_negs': {str(i): text for i, text in enumerate(negatives)},
            })
        item = {'f_path': record['file_name'],
                'caption': record['captions'][lang]['long'],
                'short_caption': record['captions'][lang]['short'],
                'bbox_info': boxes}
        if lang == 'zh':
            item['is_cn'] = True
        out.append(item)
    return out


def chinese_pairs(records: Sequence[dict]) -> List[dict]:
    """Chinese image-text pairs: long and short Chinese captions, ``is_cn: true``."""
    return [{'f_path': r['file_name'], 'caption': r['captions']['zh']['long'],
             'short_caption': r['captions']['zh']['short'], 'is_cn': True} for r in records]


def retrieval_list(records: Sequence[dict], lang: str, kind: str) -> List[dict]:
    """Retrieval ground truth: short captions come with their two paraphrases.

    Args:
        records (Sequence[dict]): Detection image records of one split.
        lang (str): 'en' or 'zh'.
        kind (str): 'short' or 'long'.

    Returns:
        list[dict]: ``{'image': path, 'captions': [...]}`` per image.
    """
    if kind not in ('short', 'long'):
        raise ValueError(f"kind must be 'short' or 'long', got {kind!r}")
    out = []
    for record in records:
        captions = record['captions'][lang]
        texts = [captions['short']] + captions['short_variants'] if kind == 'short' \
            else [captions['long']]
        out.append({'image': record['file_name'], 'captions': texts})
    return out


def add_trivial_negatives(records: Sequence[dict], rng: np.random.Generator,
                          shapes: Sequence[str]) -> None:
    """Attach FG-OVD 'trivial' negatives (other objects' expressions, other shapes).

    The pool is every distinct attribute tuple of the split in first-seen order, so the
    result depends only on the records and the generator.

    Args:
        records (Sequence[dict]): Detection image records of one split (modified in place).
        rng (np.random.Generator): Generator dedicated to this split's trivial negatives.
        shapes (Sequence[str]): The world's shape names.
    """
    pool, seen = [], set()
    for record in records:
        for obj in record['objects']:
            attrs = Attributes(**obj['attributes'])
            if attrs not in seen:
                seen.add(attrs)
                pool.append(attrs)
    for record in records:
        for obj in record['objects']:
            negatives = trivial_negatives(Attributes(**obj['attributes']), pool, rng, shapes)
            obj['negatives']['trivial'] = {
                'attributes': [n._asdict() for n in negatives],
                'en': [short_expression_en(n) for n in negatives],
                'zh': [short_expression_zh(n) for n in negatives],
            }


def fgovd_lines(records: Sequence[dict], level: str, lang: str) -> List[Dict]:
    """FG-OVD benchmark lines for one difficulty level and language.

    Args:
        records (Sequence[dict]): Records with ``negatives[level]`` filled in.
        level (str): 'hard', 'medium', 'easy' or 'trivial'.
        lang (str): 'en' or 'zh'.

    Returns:
        list[dict]: One line per object.
    """
    if level not in FGOVD_LEVELS:
        raise ValueError(f'level must be one of {FGOVD_LEVELS}, got {level!r}')
    return [{'img_path': record['file_name'], 'bbox': obj['bbox'],
             'pos_expression': [obj['texts'][lang]['short']],
             'neg_expression': obj['negatives'][level][lang]}
            for record in records for obj in record['objects']]


def classification_lines(records: Sequence[dict]) -> List[str]:
    """ImageNet-style ``relative/path.jpg label_index`` lines."""
    return [f"{r['file_name']} {r['label']}" for r in records]
