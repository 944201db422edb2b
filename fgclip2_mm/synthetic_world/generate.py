"""Orchestration: :func:`generate_world` renders images in a process pool, then writes
every annotation format, trains the tokenizer and writes ``world_meta.json``.

Determinism: each image has its own generator seeded by (seed, split, kind, index), results
are collected in task order, and all files are written by the main process with fixed
key order and rounding, so the output does not depend on the number of workers. Timings
are returned in the summary only, never written into the world.
"""
import multiprocessing
import os
import os.path as osp
import shutil
import time
from typing import Callable, Dict, List, Optional

import numpy as np

from . import writers
from .captions import chinese_lexicon
from .coco_writer import coco_categories, coco_instances
from .fileio import write_json, write_jsonl, write_lines
from .image_job import CLASSIFICATION, DETECTION, ImageTask, make_output_dirs, run_task
from .profiles import LEGACY_PROFILE, WorldProfile, get_profile
from .statistics import category_table
from .tokenizer import build_tokenizer, save_tokenizer
from .world_meta import world_meta

# 1.1: shape-swap negatives in FineHARD records; 1.2: named profiles (the legacy profile's
# images and annotations are those of 1.1), world_meta.json records the profile
GENERATOR_VERSION = '1.2.0'
SPLITS = ('train', 'val')
CLASSIFICATION_SHARE = 0.2  # classification images per detection image
# Everything the generator owns inside out_dir; overwrite removes only these.
GENERATED_ENTRIES = ('images', 'seg_maps', 'annotations', 'tokenizer', 'world_meta.json')
_LABEL_SHUFFLE, _TRIVIAL = 2, 3  # seed 'kinds' next to DETECTION/CLASSIFICATION
_CHUNK = 4


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f'{name} must be an integer, got {value!r}')
    if value < minimum:
        raise ValueError(f'{name} must be >= {minimum}, got {value}')
    return int(value)


def _prepare_out_dir(out_dir: str, overwrite: bool) -> None:
    """Create ``out_dir`` or clear the generator's own outputs from it."""
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise ValueError(f'out_dir exists and is not a directory: {out_dir}')
    if osp.isdir(out_dir) and os.listdir(out_dir):
        if not overwrite:
            raise ValueError(f'out_dir is not empty: {out_dir} (pass overwrite=True to '
                             'replace a previously generated world)')
        for entry in GENERATED_ENTRIES:
            path = osp.join(out_dir, entry)
            if osp.isdir(path) and not osp.islink(path):
                shutil.rmtree(path)
            elif osp.lexists(path):
                os.remove(path)
    os.makedirs(out_dir, exist_ok=True)


def _make_tasks(out_dir: str, seed: int, counts: Dict[str, int],
                profile: WorldProfile) -> List[ImageTask]:
    """Detection then classification tasks per split, in the order results are written."""
    num_classes = len(profile.shapes)
    tasks = []
    for split_id, split in enumerate(SPLITS):
        num = counts[split]
        tasks += [ImageTask(out_dir, split, split_id, seed, i, DETECTION, profile=profile.name)
                  for i in range(num)]
        # At least one image per class; labels balanced, then shuffled out of file order.
        num_cls = max(num_classes, round(CLASSIFICATION_SHARE * num)) if num else 0
        labels = np.random.default_rng([seed, split_id, _LABEL_SHUFFLE]).permutation(
            np.arange(num_cls) % num_classes)
        tasks += [ImageTask(out_dir, split, split_id, seed, i, CLASSIFICATION, int(label),
                            profile.name) for i, label in enumerate(labels)]
    return tasks


def _run_tasks(tasks: List[ImageTask], workers: int,
               progress: Optional[Callable[[str], None]]) -> List[dict]:
    """Run the image jobs (in a pool if ``workers`` > 1), results in task order."""
    total = len(tasks)
    results = []

    def collect(result: dict) -> None:
        results.append(result)
        done = len(results)
        if progress and done * 10 // total > (done - 1) * 10 // total:  # every 10 %
            progress(f'images {done}/{total} ({100 * done // total}%)')

    if workers > 1 and total > 1:
        with multiprocessing.Pool(min(workers, total)) as pool:
            for result in pool.imap(run_task, tasks, chunksize=_CHUNK):
                collect(result)
    else:
        for task in tasks:
            collect(run_task(task))
    return results


def _write_split(out_dir: str, split: str, records: List[dict], cls_records: List[dict],
                 categories: List[dict], profile: WorldProfile) -> List[str]:
    """Write every per-split annotation file; returns the written paths."""
    ann = osp.join(out_dir, 'annotations')
    shapes = profile.category_names
    paths = []
    for lang in ('en', 'zh'):
        paths.append(write_json(osp.join(ann, f'finehard_{lang}_{split}.json'),
                                writers.finehard_records(records, lang, shapes)))
    paths.append(write_jsonl(osp.join(ann, f'finehard_en_{split}.jsonl'),
                             writers.finehard_records(records, 'en', shapes)))
    paths.append(write_json(osp.join(ann, f'cn_pairs_{split}.json'),
                            writers.chinese_pairs(records)))
    paths.append(write_json(osp.join(ann, f'instances_{split}.json'),
                            coco_instances(records, categories, split, profile)))
    keep = {'base': profile.base_classes.__contains__,
            'novel': profile.novel_classes.__contains__}
    for name in {'train': ('base', ), 'val': ('base', 'novel')}[split]:
        paths.append(write_json(osp.join(ann, f'instances_{split}_{name}.json'),
                                coco_instances(records, categories, split, profile, keep[name])))
    for kind in ('short', 'long'):
        for lang in ('en', 'zh'):
            paths.append(write_json(osp.join(ann, f'retrieval_{kind}_{lang}_{split}.json'),
                                    writers.retrieval_list(records, lang, kind)))
    for level in writers.FGOVD_LEVELS:
        for lang in ('en', 'zh'):
            paths.append(write_jsonl(osp.join(ann, f'fgovd_{level}_{lang}_{split}.jsonl'),
                                     writers.fgovd_lines(records, level, lang)))
    paths.append(write_lines(osp.join(ann, f'cls_{split}.txt'),
                             writers.classification_lines(cls_records)))
    return paths


def tokenizer_corpus(records: Dict[str, List[dict]]) -> List[str]:
    """All captions, expressions and negatives; English lower-cased, in a fixed order."""
    corpus = []
    for split in SPLITS:
        for record in records[split]:
            for lang in ('en', 'zh'):
                captions = record['captions'][lang]
                texts = [captions['short'], *captions['short_variants'], captions['long']]
                for obj in record['objects']:
                    texts += [obj['texts'][lang]['short'], obj['texts'][lang]['long']]
                    for level in ('hard', 'medium', 'easy'):
                        texts += obj['negatives'][level][lang]
                corpus += [t.lower() for t in texts] if lang == 'en' else texts
    return corpus


def generate_world(out_dir: str, seed: int = 0, num_train: int = 750, num_val: int = 250,
                   workers: Optional[int] = None, overwrite: bool = False, *,
                   profile: str = LEGACY_PROFILE,
                   progress: Optional[Callable[[str], None]] = None) -> Dict:
    """Generate the synthetic bilingual shapes world.

    Args:
        out_dir (str): Output folder; created if missing. Must be empty unless
            ``overwrite`` is set.
        seed (int): Non-negative world seed. Defaults to 0.
        num_train (int): Number of train detection images. Defaults to 750.
        num_val (int): Number of val detection images. Defaults to 250.
        workers (int, optional): Worker processes; defaults to min(2, cpu count).
        overwrite (bool): Replace the outputs of a previous run in ``out_dir`` (other
            files there are left alone). Defaults to False.
        profile (str): Difficulty profile, one of :data:`~.profiles.PROFILES`
            (``'legacy'``: the generator 1.1 world; ``'calibrated'``: the quick start's).
            Defaults to ``'legacy'``.
        progress (Callable[[str], None], optional): Called with progress messages.

    Returns:
        dict: Summary with ``out_dir``, ``seed``, ``profile``, ``num_images``, ``num_objects``,
        ``num_categories``, ``annotation_files`` (file name -> path), ``tokenizer_dir``,
        ``meta_file``, ``files`` (every written file), ``timings`` and ``elapsed_s``.
    """
    start = time.perf_counter()
    if not isinstance(out_dir, (str, os.PathLike)) or not str(out_dir):
        raise ValueError(f'out_dir must be a non-empty path, got {out_dir!r}')
    seed = _check_int('seed', seed, 0)
    world_profile = get_profile(profile)
    counts = {'train': _check_int('num_train', num_train, 0),
              'val': _check_int('num_val', num_val, 0)}
    if counts['train'] + counts['val'] == 0:
        raise ValueError('num_train + num_val must be >= 1, got 0')
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    workers = _check_int('workers', workers, 1)
    out_dir = osp.abspath(os.fspath(out_dir))
    _prepare_out_dir(out_dir, overwrite)
    for split in SPLITS:
        make_output_dirs(out_dir, split)

    tasks = _make_tasks(out_dir, seed, counts, world_profile)
    results = _run_tasks(tasks, workers, progress)
    records = {s: [r for t, r in zip(tasks, results) if t.split == s and t.kind == DETECTION]
               for s in SPLITS}
    cls_records = {s: [r for t, r in zip(tasks, results)
                       if t.split == s and t.kind == CLASSIFICATION] for s in SPLITS}
    timings = {'images_s': time.perf_counter() - start}
    lap = time.perf_counter()

    table = category_table(records, world_profile)
    categories = coco_categories(table)
    annotation_paths = []
    for split_id, split in enumerate(SPLITS):
        writers.add_trivial_negatives(records[split],
                                      np.random.default_rng([seed, split_id, _TRIVIAL]),
                                      world_profile.category_names)
        annotation_paths += _write_split(out_dir, split, records[split], cls_records[split],
                                         categories, world_profile)
    timings['annotations_s'] = time.perf_counter() - lap
    lap = time.perf_counter()
    if progress:
        progress(f'annotations: {len(annotation_paths)} files; training the tokenizer')

    tokenizer = build_tokenizer(tokenizer_corpus(records), words=chinese_lexicon())
    tokenizer_paths = save_tokenizer(tokenizer, osp.join(out_dir, 'tokenizer'))
    timings['tokenizer_s'] = time.perf_counter() - lap

    num_images = {s: len(records[s]) for s in SPLITS}
    num_images.update({f'cls_{s}': len(cls_records[s]) for s in SPLITS})
    num_objects = {s: sum(len(r['objects']) for r in records[s]) for s in SPLITS}
    image_paths = [osp.join(out_dir, r['file_name']) for t, r in zip(tasks, results)]
    seg_paths = [osp.join(out_dir, r['seg_file_name']) for s in SPLITS for r in records[s]]
    meta = world_meta(out_dir, seed, GENERATOR_VERSION, world_profile, num_images, num_objects,
                      table, annotation_paths + tokenizer_paths, tokenizer.get_vocab_size())
    meta_path = write_json(osp.join(out_dir, 'world_meta.json'), meta, indent=2)
    elapsed = time.perf_counter() - start
    if progress:
        progress(f'done in {elapsed:.1f} s')
    return {
        'out_dir': out_dir,
        'seed': seed,
        'profile': world_profile.name,
        'num_images': num_images,
        'num_objects': num_objects,
        'num_categories': len(table),
        'annotation_files': {osp.basename(p): p for p in annotation_paths},
        'tokenizer_dir': osp.join(out_dir, 'tokenizer'),
        'meta_file': meta_path,
        'files': sorted(image_paths + seg_paths + annotation_paths + tokenizer_paths
                        + [meta_path]),
        'timings': timings,
        'elapsed_s': elapsed,
    }
