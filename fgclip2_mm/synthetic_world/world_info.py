"""What a generated world is, read back from its ``world_meta.json``.

Every consumer of a world (dataset classes, the quick start, evaluation vocabularies) takes
the classes, the base / novel split and the Chinese names from here, so a world of any
profile (:mod:`.profiles`) works without a hard-coded shape list.
"""
import json
import os
import os.path as osp
from typing import Dict, List

META_FILE = 'world_meta.json'
_REQUIRED = ('classes', 'classes_zh', 'base_classes', 'novel_classes')


def read_world_meta(data_root: str) -> Dict:
    """Load ``<data_root>/world_meta.json`` and check its class fields.

    Args:
        data_root (str): World root (as written by ``tools/generate_synthetic_world.py``).

    Returns:
        dict: The file's content.

    Raises:
        ValueError: Missing or unreadable file, or a file without the class fields (a world
            of generator < 1.2: regenerate it).
    """
    path = osp.join(os.fspath(data_root), META_FILE)
    if not osp.isfile(path):
        raise ValueError(f'{path} not found: not a synthetic world (generate one with '
                         'tools/generate_synthetic_world.py)')
    try:
        with open(path, encoding='utf-8') as f:
            meta = json.load(f)
    except ValueError as err:
        raise ValueError(f'{path}: not valid JSON ({err})') from None
    missing = [k for k in _REQUIRED if not isinstance(meta.get(k), list)]
    if missing:
        raise ValueError(f'{path}: no {missing} field(s) (generator version '
                         f'{meta.get("generator_version")!r}; regenerate the world with '
                         'tools/generate_synthetic_world.py --overwrite)')
    if len(meta['classes']) != len(meta['classes_zh']):
        raise ValueError(f'{path}: {len(meta["classes"])} classes but '
                         f'{len(meta["classes_zh"])} classes_zh')
    return meta


def profile_name(meta: Dict) -> str:
    """The profile a world was generated with (``'legacy'`` for worlds before 1.2)."""
    profile = meta.get('profile')
    return profile.get('name', 'legacy') if isinstance(profile, dict) else 'legacy'


def palette(num_classes: int) -> List[tuple]:
    """Seg-map palette: background first, then one colour per category (mmseg convention);
    the legacy world's colours for its first 16 classes."""
    return [(0, 0, 0)] + [((37 * i) % 256, (97 * i) % 256, (173 * i) % 256)
                          for i in range(1, num_classes + 1)]


def detection_metainfo(meta: Dict) -> Dict:
    """mmdet-style metainfo of a world: ``classes``, ``classes_zh``, ``base_classes``,
    ``novel_classes``, ``palette`` (tuples)."""
    return dict(classes=tuple(meta['classes']), classes_zh=tuple(meta['classes_zh']),
                base_classes=tuple(meta['base_classes']),
                novel_classes=tuple(meta['novel_classes']),
                palette=palette(len(meta['classes']))[1:])


def segmentation_metainfo(meta: Dict) -> Dict:
    """mmseg-style metainfo: background (label 0) then the world's classes."""
    return dict(classes=('background', ) + tuple(meta['classes']),
                classes_zh=('背景', ) + tuple(meta['classes_zh']),
                base_classes=tuple(meta['base_classes']),
                novel_classes=tuple(meta['novel_classes']),
                palette=[list(p) for p in palette(len(meta['classes']))])
