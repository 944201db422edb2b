"""Per-category counts and LVIS-style frequency tags.

LVIS tags a category 'r' (1-10 training images), 'c' (11-100) or 'f' (> 100) out of about
100k images. Those absolute thresholds mean nothing for a world of a few hundred images,
so they are scaled to the share of train images that contain the category; the shares
below sit between the expected shares of the three sampling-weight groups in
:mod:`.vocabulary`.
"""
from typing import Dict, List, Sequence

from .profiles import WorldProfile

RARE_MAX_IMAGE_SHARE = 0.145  # a category in fewer than 14.5 % of train images is 'r'
COMMON_MAX_IMAGE_SHARE = 0.26  # ... fewer than 26 % is 'c', otherwise 'f'


def frequency_tag(image_count: int, num_images: int, fallback: str) -> str:
    """LVIS-style tag from the share of train images containing the category.

    Args:
        image_count (int): Train images containing the category.
        num_images (int): Number of train images.
        fallback (str): Tag used when there are no train images.

    Returns:
        str: 'r', 'c' or 'f'.
    """
    if num_images == 0:
        return fallback
    share = image_count / num_images
    if share < RARE_MAX_IMAGE_SHARE:
        return 'r'
    return 'c' if share < COMMON_MAX_IMAGE_SHARE else 'f'


def category_table(records: Dict[str, Sequence[dict]], profile: WorldProfile) -> List[dict]:
    """Category list with ids, names, split, per-split counts and frequency tag.

    Args:
        records (dict[str, Sequence[dict]]): Detection image records per split.
        profile (WorldProfile): The world's profile (its shapes are the categories).

    Returns:
        list[dict]: One entry per category in id order.
    """
    table = []
    for shape in profile.shapes:
        entry = {'id': profile.category_id(shape.name), 'name': shape.name, 'name_zh': shape.name_zh,
                 'split': shape.split}
        for split in ('train', 'val'):
            shapes_per_image = [[o['attributes']['shape'] for o in r['objects']]
                                for r in records.get(split, ())]
            entry[f'{split}_image_count'] = sum(shape.name in s for s in shapes_per_image)
            entry[f'{split}_instance_count'] = sum(s.count(shape.name) for s in shapes_per_image)
        entry['frequency'] = frequency_tag(entry['train_image_count'],
                                           len(records.get('train', ())),
                                           shape.group)
        entry['sampling_weight'] = shape.weight
        table.append(entry)
    return table
