"""One unit of work for the process pool: sample, render and write one image.

Each image owns a generator seeded by (seed, split id, kind, index), so its content does
not depend on how images are spread over workers. The job writes its own image (and seg
map) and returns a JSON-friendly record with annotations and texts.
"""
import os
import os.path as osp
from typing import Dict, NamedTuple

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from .captions import image_captions, object_texts
from .negatives import LEVELS, attribute_negatives
from .phrases import short_expression_en, short_expression_zh
from .profiles import LEGACY_PROFILE, get_profile
from .relations import choose_referents
from .render import render_scene, semantic_map
from .scene import sample_image_size, sample_scene
from .vocabulary import BACKGROUNDS, TEXTURES

JPEG_QUALITY = 90
DETECTION, CLASSIFICATION = 0, 1  # the 'kind' part of an image's seed


class ImageTask(NamedTuple):
    """Everything a worker needs to produce one image."""

    out_dir: str
    split: str
    split_id: int
    seed: int
    index: int
    kind: int  # DETECTION or CLASSIFICATION
    label: int = -1  # category index for classification images
    profile: str = LEGACY_PROFILE  # world profile name (.profiles)


def image_rng(seed: int, split_id: int, kind: int, index: int) -> np.random.Generator:
    """The generator of one image; independent of worker count and order."""
    return np.random.default_rng([seed, split_id, kind, index])


def _background(rng: np.random.Generator):
    return (BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))].name,
            TEXTURES[int(rng.integers(len(TEXTURES)))].name)


def _save_jpeg(image: np.ndarray, path: str) -> None:
    Image.fromarray(image).save(path, format='JPEG', quality=JPEG_QUALITY)


def _object_record(scene, index: int, texts: Dict, rng: np.random.Generator) -> Dict:
    """Annotation of one object: attributes, visible box/mask, texts, negatives."""
    obj = scene.objects[index]
    visible = np.asfortranarray((scene.owner == index).astype(np.uint8))
    rle = mask_utils.encode(visible)
    record = {
        'attributes': obj.attrs._asdict(),
        'bbox': [round(float(v), 2) for v in mask_utils.toBbox(rle)],
        'area': int(mask_utils.area(rle)),
        'segmentation': {'size': [int(s) for s in rle['size']],
                         'counts': rle['counts'].decode('ascii')},
        'texts': texts,
        'negatives': {},
    }
    for level in LEVELS:
        negatives = attribute_negatives(obj.attrs, rng, level)
        record['negatives'][level] = {
            'attributes': [n._asdict() for n in negatives],
            'en': [short_expression_en(n) for n in negatives],
            'zh': [short_expression_zh(n) for n in negatives],
        }
    return record


def render_detection_image(task: ImageTask) -> Dict:
    """Sample, render and write one multi-object image and its seg map.

    Args:
        task (ImageTask): Which image to produce.

    Returns:
        dict: Image record with size, file names, captions and per-object annotations.
    """
    rng = image_rng(task.seed, task.split_id, task.kind, task.index)
    width, height = sample_image_size(rng)
    profile = get_profile(task.profile)
    scene = sample_scene(rng, width, height, *_background(rng), profile=profile)
    image = render_scene(rng, scene)
    referents = choose_referents(scene, rng)
    texts = object_texts(scene, referents)
    stem = f'{task.index:06d}'
    file_name = f'images/{task.split}/{stem}.jpg'
    seg_file_name = f'seg_maps/{task.split}/{stem}.png'
    _save_jpeg(image, osp.join(task.out_dir, file_name))
    Image.fromarray(semantic_map(scene, profile), mode='L').save(osp.join(task.out_dir, seg_file_name))
    return {
        'index': task.index,
        'file_name': file_name,
        'seg_file_name': seg_file_name,
        'width': width,
        'height': height,
        'background': scene.background,
        'texture': scene.texture,
        'captions': image_captions(scene, referents, rng),
        'objects': [_object_record(scene, i, texts[i], rng) for i in range(len(scene.objects))],
        'relations': [[int(j), rel] for j, rel in referents],
    }


def render_classification_image(task: ImageTask) -> Dict:
    """Sample, render and write one single-object image of category ``task.label``.

    Args:
        task (ImageTask): Which image to produce; ``label`` is the category index.

    Returns:
        dict: ``{'file_name', 'label', 'width', 'height', 'attributes'}``.
    """
    rng = image_rng(task.seed, task.split_id, task.kind, task.index)
    width, height = int(rng.integers(96, 321)), int(rng.integers(96, 321))
    profile = get_profile(task.profile)
    scene = sample_scene(rng, width, height, *_background(rng), max_objects=1,
                         shape=profile.category_names[task.label],
                         size='large' if rng.random() < 0.5 else 'medium', profile=profile)
    file_name = f'images/cls_{task.split}/{task.index:06d}.jpg'
    _save_jpeg(render_scene(rng, scene), osp.join(task.out_dir, file_name))
    return {'file_name': file_name, 'label': task.label, 'width': width, 'height': height,
            'attributes': scene.objects[0].attrs._asdict()}


def run_task(task: ImageTask) -> Dict:
    """Pool entry point: dispatch on the task kind."""
    if task.kind == DETECTION:
        return render_detection_image(task)
    return render_classification_image(task)


def make_output_dirs(out_dir: str, split: str) -> None:
    """Create the per-split image and seg-map folders."""
    for sub in (f'images/{split}', f'images/cls_{split}', f'seg_maps/{split}'):
        os.makedirs(osp.join(out_dir, sub), exist_ok=True)
