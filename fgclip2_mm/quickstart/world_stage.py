"""Quick-start stage 0: generate (or reuse) the synthetic world and draw previews."""
import json
import os.path as osp
import time
from typing import Callable

from ..synthetic_world import generate_world
from ..synthetic_world.generate import GENERATOR_VERSION
from ..synthetic_world.world_info import profile_name
from ..visualization import write_world_gallery


def _matching_world(config, meta_path: str) -> bool:
    if config.regenerate or not osp.isfile(meta_path):
        return False
    with open(meta_path, encoding='utf-8') as f:
        meta = json.load(f)
    # A world of another generator version has other texts (e.g. 1.1 added shape-swap
    # negatives): never train on it silently.
    return (meta.get('seed') == config.seed and meta.get('num_train') == config.num_train
            and meta.get('num_val') == config.num_val and profile_name(meta) == config.profile
            and meta.get('generator_version') == GENERATOR_VERSION)


def run(config, log: Callable[[str], None]) -> dict:
    """Generate the world unless a matching one exists, then write the preview pictures."""
    meta_path = osp.join(config.data_root, 'world_meta.json')
    t0 = time.time()
    if _matching_world(config, meta_path):
        log(f'reusing the world in {config.data_root} (pass --regenerate to rebuild)')
        reused = True
    else:
        generate_world(config.data_root, seed=config.seed, num_train=config.num_train,
                       num_val=config.num_val, workers=config.workers,
                       overwrite=osp.isfile(meta_path), profile=config.profile,
                       progress=lambda m: log(f'  world: {m}'))
        reused = False
    with open(meta_path, encoding='utf-8') as f:
        meta = json.load(f)
    pictures = write_world_gallery(config.data_root, config.work_dir, split='val')
    log(f'world previews: {pictures["contact_sheet"]}, {pictures["gallery"]}')
    return {
        'status': 'ok',
        'data_root': config.data_root,
        'profile': profile_name(meta),
        'reused': reused,
        'seconds': round(time.time() - t0, 1),
        'num_train_images': meta.get('num_train'),
        'num_val_images': meta.get('num_val'),
        'num_categories': len(meta.get('categories', [])),
        'classes': meta.get('classes'),
        'classes_zh': meta.get('classes_zh'),
        'base_classes': meta.get('base_classes'),
        'novel_classes': meta.get('novel_classes'),
        'pictures': pictures,
    }
