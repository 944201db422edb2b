"""Batched vs one-by-one inference with ``fgclip2_mm.apis`` on the same images (CPU, fp32).

Usage::

    python tools/benchmarks/bench_inference.py [--size base] [--images 64] [--batch-size 16]

Writes ``--images`` random JPEG files of mixed sizes (seeded; short side 64 ... long side
``--max-side``) to a temporary folder and times, alternately in one process, after one
warm-up of each:

* one-by-one: ``encode_images(model, path, batch_size=1)`` per file;
* batched: ``encode_images(model, paths, batch_size=B)`` (NaFlex-bucketed batches);

and the same for ``encode_regions`` with ``--boxes`` boxes per image. Reported: images/s of
each, the ratio batched / one-by-one (median over ``--repeats``), the max |diff| between
the two results, where the batched time goes (decoding + NaFlex resize/patchify, which
batching cannot speed up, vs the model forward), and the bound: the same number of
images of one shape (256 and 1024 patches, so no padding and no decoding) in one forward
vs one forward each -- the most batching can give the forward on this machine. The model is a random ``--size`` FG-CLIP 2
(no weights are needed to time it).
"""
import argparse
import os.path as osp
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None):
    from fgclip2_mm.models.utils.arch_zoo import ARCH_ZOO
    from fgclip2_mm.utils.cli import OneLineArgumentParser
    parser = OneLineArgumentParser(description='images/s of fgclip2_mm.apis, batched vs '
                                   'one-by-one on the same images (one run)')
    parser.add_argument('--size', default='small', choices=sorted(ARCH_ZOO),
                        help='model size (random weights)')
    parser.add_argument('--images', type=int, default=64, help='number of images')
    parser.add_argument('--batch-size', type=int, default=16, help='batch size of the batched '
                        'run')
    parser.add_argument('--boxes', type=int, default=4, help='boxes per image (regions)')
    parser.add_argument('--max-side', type=int, default=640, help='longest image side')
    parser.add_argument('--repeats', type=int, default=3, help='timed repeats of each mode')
    parser.add_argument('--threads', type=int, help='torch threads (default: torch\'s)')
    parser.add_argument('--seed', type=int, default=0, help='image seed')
    args = parser.parse_args(argv)
    for name in ('images', 'batch_size', 'repeats', 'max_side'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be positive')
    if args.boxes < 0:
        parser.error('--boxes must be >= 0')
    if args.max_side < 64:
        parser.error('--max-side must be >= 64')
    return args


def write_images(folder: str, count: int, max_side: int, seed: int) -> list:
    """``count`` JPEGs with smooth random content and mixed sizes / aspect ratios."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        long_side = int(rng.integers(64, max_side + 1))
        short_side = int(rng.integers(min(64, long_side), long_side + 1))
        h, w = (long_side, short_side) if rng.random() < 0.5 else (short_side, long_side)
        coarse = rng.integers(0, 256, (max(2, h // 32), max(2, w // 32), 3), dtype=np.uint8)
        image = Image.fromarray(coarse).resize((w, h), Image.BILINEAR)
        path = osp.join(folder, f'{i:04d}.jpg')
        image.save(path, quality=90)
        paths.append(path)
    return paths


def random_boxes(paths: list, count: int, seed: int) -> list:
    from fgclip2_mm.apis.images import inspect_image
    rng = np.random.default_rng(seed + 1)
    out = []
    for path in paths:
        h, w = inspect_image(path)
        x1, y1 = rng.uniform(0, w * 0.6, count), rng.uniform(0, h * 0.6, count)
        x2, y2 = x1 + rng.uniform(4, w * 0.4, count), y1 + rng.uniform(4, h * 0.4, count)
        out.append(np.stack([x1, y1, np.minimum(x2, w), np.minimum(y2, h)], 1))
    return out


def timed(fn) -> tuple:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def preprocessing_seconds(paths: list, patch_size: int) -> float:
    """Decode + NaFlex patchify of every image (the part batching leaves unchanged)."""
    from fgclip2_mm.apis.images import load_image
    from fgclip2_mm.utils.naflex import naflex_patchify, select_patch_budget
    start = time.perf_counter()
    for i, path in enumerate(paths):
        image = load_image(path, i)
        naflex_patchify(image, select_patch_budget(*image.shape[:2], patch_size), patch_size)
    return time.perf_counter() - start


def forward_bound(model, batch_size: int, num_patches: int, repeats: int) -> float:
    """The most batching can give the model forward here: ``batch_size`` images of one
    shape (``num_patches`` patches, no padding at all) as one forward vs one forward each;
    returns the ratio (median over ``repeats``)."""
    vision = model.vision_backbone
    side = int(num_patches ** 0.5)
    dims = 3 * int(vision.patch_size) ** 2
    pixels = torch.randn(batch_size, side * side, dims)
    mask = torch.ones(batch_size, side * side, dtype=torch.bool)
    shapes = torch.tensor([[side, side]] * batch_size)
    one = lambda: [model.get_image_features(pixels[i:i + 1], mask[i:i + 1],  # noqa: E731
                                            shapes[i:i + 1]) for i in range(batch_size)]
    many = lambda: model.get_image_features(pixels, mask, shapes)  # noqa: E731
    with torch.no_grad():
        one(), many()
        ratios = [timed(one)[0] / timed(many)[0] for _ in range(repeats)]
    return statistics.median(ratios)


def main(argv=None) -> int:
    args = parse_args(argv)
    from fgclip2_mm.apis import encode_images, encode_regions
    from fgclip2_mm.models import FGCLIP2
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = FGCLIP2(arch=args.size).eval()
    with tempfile.TemporaryDirectory() as folder:
        paths = write_images(folder, args.images, args.max_side, args.seed)
        boxes = random_boxes(paths, args.boxes, args.seed)
        runs = {
            'images': (lambda: torch.cat([encode_images(model, p, batch_size=1) for p in paths]),
                       lambda: encode_images(model, paths, batch_size=args.batch_size,
                                             progress=False)),
            'regions': (lambda: [encode_regions(model, p, b, batch_size=1)[0]
                                 for p, b in zip(paths, boxes)],
                        lambda: encode_regions(model, paths, boxes, batch_size=args.batch_size,
                                               progress=False)),
        }
        print(f'fgclip2_mm.apis on CPU, {args.size} model (random weights), {args.images} '
              f'JPEGs up to {args.max_side} px, batch {args.batch_size}, torch threads '
              f'{torch.get_num_threads()}, {args.repeats} repeats (median)')
        for name, (one_by_one, batched) in runs.items():
            one_by_one(), batched()  # warm-up
            times = {'one-by-one': [], 'batched': []}
            for _ in range(args.repeats):
                t_single, single = timed(one_by_one)
                t_batch, batch = timed(batched)
                times['one-by-one'].append(t_single)
                times['batched'].append(t_batch)
            if name == 'images':
                diff = float((single - batch).abs().max())
            else:
                diff = max(float((a - b).abs().max()) for a, b in zip(single, batch)
                           if a.numel())
            med = {k: statistics.median(v) for k, v in times.items()}
            print(f'{name:8s} one-by-one {args.images / med["one-by-one"]:8.1f} images/s | '
                  f'batched {args.images / med["batched"]:8.1f} images/s | ratio '
                  f'{med["one-by-one"] / med["batched"]:.2f}x | max |diff| {diff:.1e}')
        pre = preprocessing_seconds(paths, int(model.vision_backbone.patch_size))
        print(f'decode + NaFlex patchify alone: {args.images / pre:.1f} images/s '
              f'({100 * pre / med["batched"]:.0f}% of the batched regions run); the rest is '
              'the model forward')
        for patches in (256, 1024):
            ratio = forward_bound(model, args.batch_size, patches, args.repeats)
            print(f'bound: {args.batch_size} images of {patches} patches (one shape, no '
                  f'padding, no decoding) in one forward: {ratio:.2f}x one forward each')
    return 0


if __name__ == '__main__':
    sys.exit(main())
