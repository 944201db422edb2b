"""Parsers of the retrieval benchmarks' annotation formats.

Each parser returns ``(items, skipped)``: ``items`` is a list of ``(image path relative to
the image root, [captions])`` in benchmark order, one entry per image (captions of the
same image grouped in first-seen order); ``skipped`` counts the records left out on
purpose (logged by the dataset). Malformed records raise ``ValueError`` naming the file
and the record.

=================  ==========================================================================
format             layout
=================  ==========================================================================
``list_json``      ``[{"image": "images/val/000000.jpg", "captions": ["...", ...]}, ...]``
                   (the synthetic world's ``retrieval_{short,long}_{en,zh}_{split}.json``)
``coco_captions``  COCO ``captions_val2017.json``: ``images`` (``id``, ``file_name``) and
                   ``annotations`` (``image_id``, ``caption``); images in file order
``karpathy``       Karpathy split json (``dataset_flickr30k.json``, ``dataset_coco.json``):
                   ``{"images": [{"filename", "filepath"?, "split", "sentences":
                   [{"raw": ...}]}]}``; only ``split`` images are kept
``sharegpt4v``     ``share-captioner_coco_lcs_sam_1246k_1107.json``: ``[{"image": ...,
                   "conversations": [{"from": "human", ...}, {"from": "gpt", "value":
                   caption}]}]``; the caption is the first ``gpt`` turn
``dci``            a *folder* of DCI json files, one per image (sorted by name):
                   ``{"image": "sa_xxx.jpg", "extra_caption": long caption, ...}``; files
                   without a non-empty ``extra_caption`` are skipped (counted)
``tsv``            text lines ``image_path<TAB>caption`` (LIT-CN, DCI-CN, DOCCI-CN,
                   Flickr30k-CNA ``flickr30k_cna_test.txt``, COCO-CN ``pair.txt``); a
                   Flickr-style ``#k`` suffix of the image (``123.jpg#0``) is dropped, so
                   the lines of one image group into one gallery entry
=================  ==========================================================================
"""
import json
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

Items = List[Tuple[str, List[str]]]
FORMATS = ('list_json', 'coco_captions', 'karpathy', 'sharegpt4v', 'dci', 'tsv')


def _load_json(path: str):
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def _caption(value, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f'{where}: a caption must be a non-empty string, got {value!r}')
    return value.strip()


def _grouped(pairs, where: str) -> Items:
    groups: Dict[str, List[str]] = OrderedDict()
    for image, caption, record in pairs:
        if not isinstance(image, str) or not image:
            raise ValueError(f'{where} record {record}: image path must be a non-empty string')
        groups.setdefault(image, []).append(_caption(caption, f'{where} record {record}'))
    return list(groups.items())


def parse_list_json(path: str) -> Tuple[Items, int]:
    """``[{"image", "captions"}]`` (see the module table)."""
    where, items = osp.basename(path), []
    for n, rec in enumerate(_load_json(path)):
        if not isinstance(rec, dict) or not isinstance(rec.get('image'), str) \
                or not isinstance(rec.get('captions'), list) or not rec['captions']:
            raise ValueError(f'{where} record {n}: needs "image" (str) and "captions" '
                             '(non-empty list)')
        items.append((rec['image'], [_caption(c, f'{where} record {n}') for c in rec['captions']]))
    return items, 0


def parse_coco_captions(path: str) -> Tuple[Items, int]:
    """COCO caption file; images without a caption are skipped (counted)."""
    data, where = _load_json(path), osp.basename(path)
    captions: Dict[int, List[str]] = {}
    for n, ann in enumerate(data.get('annotations', [])):
        captions.setdefault(ann.get('image_id'), []).append(
            _caption(ann.get('caption'), f'{where} annotation {n}'))
    items, skipped = [], 0
    for image in data.get('images', []):
        if image.get('id') not in captions:
            skipped += 1
            continue
        items.append((image['file_name'], captions[image['id']]))
    return items, skipped


def parse_karpathy(path: str, split: str = 'test') -> Tuple[Items, int]:
    """Karpathy json; images of other splits are skipped (counted)."""
    where, items, skipped = osp.basename(path), [], 0
    for n, image in enumerate(_load_json(path)['images']):
        if image.get('split') != split:
            skipped += 1
            continue
        name = osp.join(image.get('filepath', ''), image['filename'])
        items.append((name, [_caption(s.get('raw'), f'{where} image {n}')
                             for s in image.get('sentences', [])]))
        if not items[-1][1]:
            raise ValueError(f'{where} image {n}: no sentences')
    return items, skipped


def parse_sharegpt4v(path: str) -> Tuple[Items, int]:
    """ShareGPT4V json: the first ``gpt`` turn of each record is its caption."""
    where, items = osp.basename(path), []
    for n, rec in enumerate(_load_json(path)):
        turns = [t for t in rec.get('conversations', []) if t.get('from') == 'gpt']
        if not isinstance(rec.get('image'), str) or not turns:
            raise ValueError(f'{where} record {n}: needs "image" and a "gpt" turn')
        items.append((rec['image'], [_caption(turns[0].get('value'), f'{where} record {n}')]))
    return items, 0


def parse_dci(folder: str) -> Tuple[Items, int]:
    """A folder of DCI json files; files without ``extra_caption`` are skipped."""
    if not osp.isdir(folder):
        raise ValueError(f'DCI annotations must be a folder of json files, got {folder!r}')
    items, skipped = [], 0
    for name in sorted(f for f in os.listdir(folder) if f.endswith('.json')):
        rec = _load_json(osp.join(folder, name))
        caption = rec.get('extra_caption')
        if isinstance(caption, list):
            caption = ' '.join(c for c in caption if isinstance(c, str))
        if not isinstance(caption, str) or not caption.strip():
            skipped += 1
            continue
        if not isinstance(rec.get('image'), str):
            raise ValueError(f'{name}: field "image" must be a string')
        items.append((rec['image'], [caption.strip()]))
    return items, skipped


def parse_tsv(path: str) -> Tuple[Items, int]:
    """``image<TAB>caption`` lines; blank lines ignored, ``#k`` image suffixes dropped."""
    where, pairs = osp.basename(path), []
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip('\n').rstrip('\r')
            if not line.strip():
                continue
            if '\t' not in line:
                raise ValueError(f'{where}:{number}: expected "image_path<TAB>caption"')
            image, caption = line.split('\t', 1)
            image = image.strip()
            if '#' in image and image.rsplit('#', 1)[1].isdigit():
                image = image.rsplit('#', 1)[0]
            pairs.append((image, caption, f'line {number}'))
    return _grouped(pairs, where), 0


def parse_retrieval(path: str, ann_format: str, split: Optional[str] = 'test'
                    ) -> Tuple[Items, int]:
    """Dispatch on ``ann_format`` (one of :data:`FORMATS`)."""
    if ann_format not in FORMATS:
        raise ValueError(f'ann_format must be one of {FORMATS}, got {ann_format!r}')
    if ann_format == 'karpathy':
        return parse_karpathy(path, split)
    return globals()[f'parse_{ann_format}'](path)
