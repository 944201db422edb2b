"""Convert a COCO-format instances file into FineHARD-format training records.

Usage::

    python tools/dataset_converters/coco_to_finehard.py INSTANCES_JSON OUT_FILE \
        [--captions CAPTIONS_JSON] [--min-size 4] [--num-negatives 10]

One record per image, the schema ``FGCLIP2FineHARDDataset`` (``configs/fgclip2_stage2.py``,
``configs/fgclip2_finetune_coco-format.py``) trains on: ``f_path`` (the image's
``file_name``), ``short_caption``, ``caption`` (long), ``height``, ``width`` and
``bbox_info``, one entry per kept box (largest first) with ``bbox`` (normalised
``x1, y1, x2, y2``), ``short_expr``, ``long_expr``, ``flag_short_neg`` (a boolean) and
``short_expr_negs`` (``{"0": ..., ...}``).

* **Region texts** come from templates over the category name, with the annotation's
  ``attributes`` in front of it when there are any (a dict of ``name: value`` strings or a
  list of strings): ``"a red striped circle"``; the long expression adds where the box is
  (``"... in the top left of the image"``).
* **Hard negatives** (``--num-negatives``, 10 as FineHARD): half attribute swaps (one
  attribute replaced by another value seen for it in the file) when the box has
  attributes, the rest the same phrase with another category name; all distinct and never
  equal to the positive. A box for which not enough distinct negatives exist keeps its
  region text with ``flag_short_neg: false``.
* **Global captions**: with ``--captions`` (a COCO captions file), the image's first caption
  is the short caption and all its captions together the long one; without, the short
  caption lists the phrases of the four largest boxes (``"a red circle and a blue
  square"``) and the long one the long expressions of all boxes.
* **Skipped and counted** (summary on stdout, first case of each reason on stderr):
  malformed boxes, boxes with a side <= 0, boxes that leave the image by more than 1 px
  (smaller overhangs are clipped), boxes with a side under ``--min-size`` px after clipping,
  crowd boxes (``--keep-crowd`` keeps them), annotations of an unknown image or category,
  images without ``width``/``height`` and images left without any text. Masks
  (``segmentation``) are ignored.

The output is a JSON array (``.json``) or JSON lines (``.jsonl``); ``f_path`` stays relative
to the image folder, which the training config's ``data_prefix`` names.
"""
import argparse
import json
import math
import os
import random
import sys
from collections import Counter, OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

from fgclip2_mm.utils.cli import OneLineArgumentParser, non_negative_int

OUTPUT_FORMATS = ('.json', '.jsonl')
#: Skip reasons, in report order.
SKIP_REASONS = ('box_malformed', 'box_non_positive', 'box_outside_image', 'box_tiny',
                'box_crowd', 'unknown_image', 'unknown_category', 'image_bad_size',
                'image_without_text')
OVERHANG_PX = 1.0  # a box may leave the image by this much before it is skipped
ROWS = ('top', 'middle', 'bottom')
CAPTION_PHRASES = 4  # region phrases in a composed short caption (the largest boxes)
COLUMNS = ('left', 'centre', 'right')


class ConversionError(ValueError):
    """Input the converter cannot use at all (names the file and the field)."""


def _read_json(path: str, what: str):
    if not os.path.isfile(path):
        raise ConversionError(f'{what} not found: {path}')
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConversionError(f'{path}: not a valid JSON file ({exc})') from None


def _require_list(data: dict, key: str, path: str) -> list:
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise ConversionError(f'{path}: a COCO file needs a "{key}" list')
    return data[key]


def article(phrase: str) -> str:
    """``'a'`` or ``'an'`` for an English phrase (by its first letter)."""
    return 'an' if phrase[:1].lower() in 'aeiou' else 'a'


def join_phrases(items: Sequence[str]) -> str:
    """``'x'``, ``'x and y'``, ``'x, y and z'``."""
    items = list(items)
    return items[0] if len(items) == 1 else ', '.join(items[:-1]) + ' and ' + items[-1]


def attribute_slots(attributes, name: str,
                    keys: Optional[Sequence[str]] = None) -> List[Tuple[str, str]]:
    """``[(slot, value)]`` of an annotation's attributes, in phrase order.

    Args:
        attributes: ``None``, a dict ``{attribute: value}`` (only non-empty str values
            that differ from the category name are used) or a list of str (slots are
            their positions).
        name (str): The category name.
        keys (Sequence[str], optional): Dict attributes to use, in this order (default:
            every one, in the file's order).

    Returns:
        list[tuple[str, str]]: Slot names (dict keys, or ``'#'`` for every list item: they
        share one pool of values) and values.
    """
    def usable(value) -> bool:
        return isinstance(value, str) and value.strip() and value.strip() != name

    if isinstance(attributes, dict):
        order = list(attributes) if keys is None else [k for k in keys if k in attributes]
        return [(str(k), attributes[k].strip()) for k in order if usable(attributes[k])]
    if isinstance(attributes, list):
        return [('#', v.strip()) for v in attributes if usable(v)]
    return []


def phrase_of(slots: Sequence[Tuple[str, str]], name: str) -> str:
    """``'red striped circle'``: attribute values, then the category name."""
    return ' '.join([v for _, v in slots] + [name])


def position_of(bbox: Sequence[float]) -> str:
    """Where a normalised box's centre lies, in a 3 x 3 grid: ``'in the top left'``,
    ``'on the right'``, ``'in the centre'``, ..."""
    cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    row, col = ROWS[min(int(cy * 3), 2)], COLUMNS[min(int(cx * 3), 2)]
    if row == 'middle':
        return 'in the centre' if col == 'centre' else f'on the {col}'
    return f'at the {row}' if col == 'centre' else f'in the {row} {col}'


def hard_negatives(slots: Sequence[Tuple[str, str]], name: str, names: Sequence[str],
                   slot_values: Dict[str, List[str]], num: int,
                   rng: random.Random) -> Optional[List[str]]:
    """``num`` distinct negative phrases, or None when there are not enough.

    Half (rounded up) are attribute swaps when the box has attributes, the rest category
    swaps (then attribute swaps again if the categories run out). None equals the positive
    (compared lower-cased and stripped, as the dataset does).
    """
    positive = phrase_of(slots, name)
    per_slot, present = [], {v for _, v in slots}
    for i, (slot, value) in enumerate(slots):
        group = []
        for other in slot_values.get(slot, ()):
            if other not in present:
                changed = list(slots)
                changed[i] = (slot, other)
                group.append(phrase_of(changed, name))
        rng.shuffle(group)
        per_slot.append(group)
    # Round-robin over the attributes, so every attribute gets swapped.
    swaps = [g[j] for j in range(max(map(len, per_slot), default=0)) for g in per_slot
             if j < len(g)]
    renames = [phrase_of(slots, other) for other in names if other != name]
    rng.shuffle(renames)
    want_swaps = min(len(swaps), (num + 1) // 2) if swaps else 0
    ordered = swaps[:want_swaps] + renames + swaps[want_swaps:]
    seen, out = {positive.strip().lower()}, []
    for phrase in ordered:
        key = phrase.strip().lower()
        if key not in seen:
            seen.add(key)
            out.append(phrase)
        if len(out) == num:
            return out
    return None


class Skips:
    """Counts of skipped items with the first example of each reason."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.examples: Dict[str, str] = {}

    def add(self, reason: str, detail: str) -> None:
        assert reason in SKIP_REASONS, reason
        self.counts[reason] += 1
        self.examples.setdefault(reason, detail)

    def summary(self) -> str:
        return ', '.join(f'{r}={self.counts[r]}' for r in SKIP_REASONS if self.counts[r]) \
            or 'none'


def _clean_box(ann: dict, width: int, height: int, min_size: float):
    """``(normalised xyxy, None)`` or ``(None, reason)``."""
    bbox = ann.get('bbox')
    if (not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or not all(
            type(v) in (int, float) and math.isfinite(v) for v in bbox)):
        return None, 'box_malformed'
    x, y, w, h = (float(v) for v in bbox)
    if w <= 0 or h <= 0:
        return None, 'box_non_positive'
    if x < -OVERHANG_PX or y < -OVERHANG_PX or x + w > width + OVERHANG_PX or \
            y + h > height + OVERHANG_PX:
        return None, 'box_outside_image'
    x1, y1 = max(x, 0.0), max(y, 0.0)
    x2, y2 = min(x + w, float(width)), min(y + h, float(height))
    if x2 - x1 < min_size or y2 - y1 < min_size:
        return None, 'box_tiny'
    return [round(x1 / width, 6), round(y1 / height, 6), round(x2 / width, 6),
            round(y2 / height, 6)], None


def _by_id(items: list, what: str, text_key: str, source: str) -> Dict[object, dict]:
    """``{id: item}`` (file order) of COCO entries that need an ``id`` and a non-empty str
    ``text_key``; anything else is a :class:`ConversionError` naming the entry."""
    out: Dict[object, dict] = OrderedDict()
    for k, item in enumerate(items):
        if not isinstance(item, dict) or 'id' not in item or not isinstance(
                item.get(text_key), str) or not item[text_key].strip():
            raise ConversionError(f'{source}: {what}[{k}] needs an "id" and a non-empty str '
                                  f'"{text_key}", got {str(item)[:120]}')
        out[item['id']] = item
    return out


def read_captions(path: str) -> Dict[int, List[str]]:
    """``{image_id: [captions]}`` from a COCO captions file (file order)."""
    data = _read_json(path, 'captions file')
    out: Dict[int, List[str]] = {}
    for k, ann in enumerate(_require_list(data, 'annotations', path)):
        if not isinstance(ann, dict) or 'image_id' not in ann or not isinstance(
                ann.get('caption'), str):
            raise ConversionError(f'{path}: annotations[{k}] needs "image_id" and a str '
                                  f'"caption", got {str(ann)[:120]}')
        if ann['caption'].strip():
            out.setdefault(ann['image_id'], []).append(' '.join(ann['caption'].split()))
    return out


def convert(instances: dict,
            source: str,
            captions: Optional[Dict[int, List[str]]] = None,
            min_size: float = 4.0,
            num_negatives: int = 10,
            keep_crowd: bool = False,
            attribute_keys: Optional[Sequence[str]] = None,
            seed: int = 0) -> Tuple[List[dict], Skips, Counter]:
    """Pure: a parsed COCO instances dict -> FineHARD records.

    Args:
        instances (dict): The parsed instances file.
        source (str): Its path (for messages).
        captions (dict, optional): :func:`read_captions` output.
        min_size (float): Smallest kept box side in pixels, after clipping.
        num_negatives (int): Hard negatives per box.
        keep_crowd (bool): Keep ``iscrowd`` boxes.
        attribute_keys (Sequence[str], optional): Dict attributes used, in phrase order.
        seed (int): Seed of the negative sampling (per annotation id, so the output does
            not depend on file order).

    Returns:
        tuple: ``(records, skips, notes)``; notes count ``records``, ``boxes``,
        ``boxes_with_negatives``, ``boxes_with_attributes``, ``images_with_captions``.
    """
    images = _require_list(instances, 'images', source)
    annotations = _require_list(instances, 'annotations', source)
    categories = _require_list(instances, 'categories', source)
    names = {k: ' '.join(cat['name'].replace('_', ' ').split())
             for k, cat in _by_id(categories, 'categories', 'name', source).items()}
    if not names:
        raise ConversionError(f'{source}: "categories" is empty')
    skips, notes = Skips(), Counter()
    by_image = {k: dict(image=img, boxes=[])
                for k, img in _by_id(images, 'images', 'file_name', source).items()}
    # Attribute values seen per slot (for the swaps), in first-seen order.
    slot_values: Dict[str, List[str]] = {}
    for ann in annotations:
        if isinstance(ann, dict) and ann.get('category_id') in names:
            for slot, value in attribute_slots(ann.get('attributes'),
                                               names[ann['category_id']], attribute_keys):
                if value not in slot_values.setdefault(slot, []):
                    slot_values[slot].append(value)
    for k, ann in enumerate(annotations):
        ann_id = ann.get('id') if isinstance(ann, dict) else None
        where = f'{source}: annotations[{k}] (id {ann_id})'
        if not isinstance(ann, dict):
            skips.add('box_malformed', f'{where}: not an object')
            continue
        entry = by_image.get(ann.get('image_id'))
        if entry is None:
            skips.add('unknown_image', f'{where}: image_id {ann.get("image_id")!r}')
            continue
        if ann.get('category_id') not in names:
            skips.add('unknown_category', f'{where}: category_id {ann.get("category_id")!r}')
            continue
        if ann.get('iscrowd') and not keep_crowd:
            skips.add('box_crowd', f'{where}: iscrowd=1 (use --keep-crowd to keep it)')
            continue
        img = entry['image']
        width, height = img.get('width'), img.get('height')
        if not all(type(v) is int and v > 0 for v in (width, height)):
            continue  # counted once per image below
        bbox, reason = _clean_box(ann, width, height, min_size)
        if reason is not None:
            skips.add(reason, f'{where}: bbox {ann.get("bbox")!r} in a {width} x {height} '
                              'image')
            continue
        entry['boxes'].append((bbox, ann))
    records = []
    for image_id, entry in by_image.items():
        img = entry['image']
        where = f'{source}: image id {image_id!r} ({img["file_name"]})'
        width, height = img.get('width'), img.get('height')
        if not all(type(v) is int and v > 0 for v in (width, height)):
            skips.add('image_bad_size', f'{where}: width/height must be positive ints, got '
                                        f'{width!r} x {height!r}')
            continue
        boxes = sorted(entry['boxes'], key=lambda b: -(b[0][2] - b[0][0]) * (b[0][3] - b[0][1]))
        bbox_info = []
        for bbox, ann in boxes:
            name = names[ann['category_id']]
            slots = attribute_slots(ann.get('attributes'), name, attribute_keys)
            rng = random.Random(f'{seed}:{ann.get("id")}:{image_id}')
            negs = hard_negatives(slots, name, list(names.values()), slot_values,
                                  num_negatives, rng)
            phrase = phrase_of(slots, name)
            short = f'{article(phrase)} {phrase}'
            box = dict(bbox=bbox, short_expr=short,
                       long_expr=f'{short} {position_of(bbox)} of the image',
                       flag_short_neg=negs is not None)
            if negs is not None:
                box['short_expr_negs'] = {str(i): f'{article(n)} {n}' for i, n in enumerate(negs)}
                notes['boxes_with_negatives'] += 1
            notes['boxes_with_attributes'] += bool(slots)
            bbox_info.append(box)
        texts = (captions or {}).get(image_id, [])
        if texts:
            short_caption = texts[0]
            long_caption = ' '.join(t if t.endswith('.') else t + '.' for t in texts) \
                if len(texts) > 1 else None
            notes['images_with_captions'] += 1
        elif bbox_info:
            shorts = list(OrderedDict.fromkeys(b['short_expr'] for b in bbox_info))
            longs = list(OrderedDict.fromkeys(b['long_expr'] for b in bbox_info))
            short_caption = join_phrases(shorts[:CAPTION_PHRASES])
            long_caption = join_phrases(longs) + '.'
        else:
            skips.add('image_without_text', f'{where}: no kept box and no caption')
            continue
        record = dict(f_path=img['file_name'], short_caption=short_caption, height=height,
                      width=width, bbox_info=bbox_info)
        if long_caption:
            record['caption'] = long_caption
        records.append(record)
        notes['boxes'] += len(bbox_info)
    notes['records'] = len(records)
    return records, skips, notes


def write_records(records: List[dict], path: str) -> None:
    """Write a JSON array (``.json``) or JSON lines (``.jsonl``), UTF-8, atomically."""
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as f:
        if path.endswith('.jsonl'):
            for record in records:
                f.write(json.dumps(record, ensure_ascii=False) + '\n')
        else:
            json.dump(records, f, ensure_ascii=False)
            f.write('\n')
    os.replace(tmp, path)


def parse_args(argv=None) -> argparse.Namespace:
    parser = OneLineArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('instances', help='COCO-format instances json (boxes, categories)')
    parser.add_argument('out', help='output records file: .json (array) or .jsonl')
    parser.add_argument('--captions', help='COCO-format captions json of the same images '
                        '(default: captions are composed from the region phrases)')
    parser.add_argument('--min-size', type=float, default=4.0,
                        help='skip boxes with a side under this many pixels (default 4)')
    parser.add_argument('--num-negatives', type=non_negative_int, default=10,
                        help='hard negatives per box (default 10, as FineHARD and the '
                        'dataset\'s num_negatives)')
    parser.add_argument('--keep-crowd', action='store_true', help='keep iscrowd boxes')
    parser.add_argument('--attribute-keys', nargs='+', metavar='KEY',
                        help='dict attributes to use, in phrase order (default: all)')
    parser.add_argument('--seed', type=int, default=0, help='negative sampling seed')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing OUT')
    args = parser.parse_args(argv)
    if not args.out.endswith(OUTPUT_FORMATS):
        parser.error(f'OUT must end with one of {OUTPUT_FORMATS}, got {args.out!r}')
    if args.min_size < 0 or not math.isfinite(args.min_size):
        parser.error(f'--min-size must be a number >= 0, got {args.min_size}')
    if args.num_negatives == 0:
        parser.error('--num-negatives must be >= 1')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        for src in (args.instances, args.captions):
            if src and os.path.exists(args.out) and os.path.samefile(src, args.out):
                raise ConversionError(f'OUT {args.out!r} is an input file')
        if os.path.exists(args.out) and not args.overwrite:
            raise ConversionError(f'{args.out} exists (use --overwrite)')
        out_dir = os.path.dirname(os.path.abspath(args.out))
        if not os.path.isdir(out_dir):
            raise ConversionError(f'output folder {out_dir} does not exist')
        captions = read_captions(args.captions) if args.captions else None
        records, skips, notes = convert(
            _read_json(args.instances, 'instances file'), args.instances, captions,
            args.min_size, args.num_negatives, args.keep_crowd, args.attribute_keys, args.seed)
        if not records:
            raise ConversionError(f'{args.instances}: no usable image (skipped: '
                                  f'{skips.summary()})')
        write_records(records, args.out)
    except (ConversionError, OSError) as exc:
        print(f'coco_to_finehard: error: {exc}', file=sys.stderr)
        return 2
    for reason in SKIP_REASONS:
        if reason in skips.examples:
            print(f'coco_to_finehard: skipped {skips.counts[reason]} x {reason}, first: '
                  f'{skips.examples[reason]}', file=sys.stderr)
    print(f'wrote {notes["records"]} records with {notes["boxes"]} boxes to {args.out} '
          f'({notes["boxes_with_negatives"]} with {args.num_negatives} hard negatives, '
          f'{notes["boxes_with_attributes"]} with attributes, '
          f'{notes["images_with_captions"]} images with captions); skipped: '
          f'{skips.summary()}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
