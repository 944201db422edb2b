"""How fast can each encoder learn the synthetic world's shapes at all? Supervised bounds.

Every downstream bar of the quick start (box classification over colour x shape, detection
and segmentation of shapes) needs the region features to tell the world's shapes apart
(its classes are read from its ``world_meta.json``, any profile). This
benchmark removes the contrastive objective from the question: it trains with plain
cross-entropy on the ground-truth attributes of every object (COCO ``instances_*.json`` of
a generated world: ``attributes.shape`` / ``attributes.colour``), the same number of steps
of 32 images for each arm, and reports held-out top-1:

* ``region_vit``: the quick start's FG-CLIP 2 region path, exactly as pretraining computes
  it (vision tower of ``configs/fgclip2_stage2_synthetic.py`` at its patch budget, dense
  head, 1x1 RoIAlign of each box) + two linear heads (shape, colour). It is an upper bound
  for what contrastive pretraining of the same encoder can reach in as many steps.
* ``cnn_crop``: a 3-layer CNN on each box cropped from the full-resolution image and
  resized to 32 x 32, the same heads: is the task learnable from these pixels at all?

``joint`` is shape and colour both right, the quantity box classification over all
colour x shape classes measures. ``majority`` is the most frequent training shape.

Example::

    python tools/benchmarks/shape_learnability.py --data-root data/synthetic
    python tools/benchmarks/shape_learnability.py --arms region_vit --steps 1500
"""
import json
import logging
import os.path as osp
import random
import sys
import time
from collections import Counter, defaultdict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fgclip2_mm.utils.cli import OneLineArgumentParser, non_negative_int

ARMS = ('region_vit', 'cnn_crop')
CONFIG = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
                  'fgclip2_stage2_synthetic.py')
CROP_SIZE = 32


def load_objects(data_root: str, split: str):
    """``{image path: [(xyxy normalised, shape id, colour id, size), ...]}`` of a split;
    shape ids index the world's ``classes`` (``world_meta.json``)."""
    from fgclip2_mm.synthetic_world.vocabulary import COLOUR_NAMES
    from fgclip2_mm.synthetic_world.world_info import read_world_meta
    classes = read_world_meta(data_root)['classes']
    with open(osp.join(data_root, 'annotations', f'instances_{split}.json'),
              encoding='utf-8') as f:
        coco = json.load(f)
    images = {im['id']: im for im in coco['images']}
    out = defaultdict(list)
    for ann in coco['annotations']:
        im = images[ann['image_id']]
        x, y, w, h = ann['bbox']
        box = (x / im['width'], y / im['height'], (x + w) / im['width'], (y + h) / im['height'])
        attrs = ann['attributes']
        out[osp.join(data_root, im['file_name'])].append(
            (box, classes.index(attrs['shape']), COLOUR_NAMES.index(attrs['colour']),
             attrs['size']))
    return dict(out)


class RegionViT(nn.Module):
    """The pretraining region path of the synthetic config, with linear heads."""

    def __init__(self, config: str, num_shapes: int, num_colours: int, budget: int):
        super().__init__()
        from mmengine.config import Config
        from mmengine.dataset import Compose

        from fgclip2_mm.registry import MODELS, TRANSFORMS
        from fgclip2_mm.utils.build import build_owned
        cfg = Config.fromfile(config)
        from mmengine.logging import MMLogger
        for handler in MMLogger.get_current_instance().handlers:  # init_weights' table
            handler.setLevel(logging.WARNING)
        model = MODELS.build(cfg.model)
        model.init_weights()
        self.vit = model.vision_backbone
        width = self.vit.embed_dims
        self.shape_head = nn.Linear(width, num_shapes)
        self.colour_head = nn.Linear(width, num_colours)
        self.patchify = Compose([build_owned(c, TRANSFORMS) for c in (
            dict(type='FGCLIP2LoadImage'),
            dict(type='FGCLIP2NaFlexPatchify', max_num_patches=budget, dynamic_budget=False))])
        self._cache = {}

    def _patches(self, path: str):
        if path not in self._cache:  # fixed budget, no augmentation: patchify once
            item = self.patchify(dict(img_path=path))
            self._cache[path] = (torch.as_tensor(item['patches']).half(),
                                 tuple(int(v) for v in item['spatial_shape']))
        patches, shape = self._cache[path]
        return patches.float(), shape

    def forward(self, batch):
        from fgclip2_mm.utils.naflex import collate_naflex
        from fgclip2_mm.models.utils.region_features import (normalized_boxes_to_grid,
                                                              roi_align_1x1)
        paths = [path for path, _ in batch]
        inputs = collate_naflex([self._patches(path) for path in paths], None)
        vis = self.vit.forward_tokens(inputs['pixel_values'], inputs['pixel_attention_mask'],
                                      inputs['spatial_shapes'])
        dense = self.vit.dense_head.forward_dense(vis['tokens'], vis['key_mask'])
        slots = max(len(objs) for _, objs in batch)
        boxes = torch.zeros(len(batch), slots, 4)
        valid = torch.zeros(len(batch), slots, dtype=torch.bool)
        for i, (_, objs) in enumerate(batch):
            boxes[i, :len(objs)] = torch.tensor([o[0] for o in objs])
            valid[i, :len(objs)] = True
        grid = normalized_boxes_to_grid(boxes, vis['spatial_shapes'])
        feats = roi_align_1x1(dense, vis['spatial_shapes'], grid)[valid]
        return self.shape_head(feats), self.colour_head(feats)


class CropCNN(nn.Module):
    """A 3-layer CNN on 32 x 32 crops of the full-resolution image."""

    def __init__(self, num_shapes: int, num_colours: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.shape_head = nn.Linear(256, num_shapes)
        self.colour_head = nn.Linear(256, num_colours)
        self._cache = {}

    def _crops(self, path: str, objs) -> torch.Tensor:
        if path not in self._cache:
            from PIL import Image
            image = Image.open(path).convert('RGB')
            w, h = image.size
            crops = [np.asarray(image.crop((x0 * w, y0 * h, x1 * w, y1 * h)).resize(
                (CROP_SIZE, CROP_SIZE)), np.float32) / 255.0 for (x0, y0, x1, y1), *_ in objs]
            self._cache[path] = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2)
        return self._cache[path]

    def forward(self, batch):
        feats = self.body(torch.cat([self._crops(path, objs) for path, objs in batch]))
        return self.shape_head(feats), self.colour_head(feats)


def evaluate(model, val, batch_images: int) -> dict:
    model.eval()
    hits = Counter()
    per_size = defaultdict(list)
    with torch.no_grad():
        for start in range(0, len(val), batch_images):
            batch = val[start:start + batch_images]
            shape_logits, colour_logits = model(batch)
            objs = [o for _, objs in batch for o in objs]
            shape_ok = (shape_logits.argmax(1) == torch.tensor([o[1] for o in objs])).tolist()
            colour_ok = (colour_logits.argmax(1) == torch.tensor([o[2] for o in objs])).tolist()
            for obj, s, c in zip(objs, shape_ok, colour_ok):
                hits['shape'] += s
                hits['colour'] += c
                hits['joint'] += s and c
                per_size[obj[3]].append(s)
    model.train()
    total = sum(len(objs) for _, objs in val)
    out = {k: round(hits[k] / total, 3) for k in ('shape', 'colour', 'joint')}
    out.update({f'shape_{k}': round(sum(v) / len(v), 3) for k, v in sorted(per_size.items())})
    return out


def train_arm(name: str, args, train, val, num_shapes: int, num_colours: int) -> list:
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    model = (RegionViT(args.config, num_shapes, num_colours, args.budget) if name == 'region_vit'
             else CropCNN(num_shapes, num_colours))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.steps,
                                                pct_start=0.05)
    rows, start = [], time.time()
    for step in range(1, args.steps + 1):
        batch = rng.sample(train, args.batch_images)
        shape_logits, colour_logits = model(batch)
        objs = [o for _, objs in batch for o in objs]
        loss = F.cross_entropy(shape_logits, torch.tensor([o[1] for o in objs])) + \
            F.cross_entropy(colour_logits, torch.tensor([o[2] for o in objs]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % args.eval_every == 0 or step == args.steps:
            row = dict(arm=name, step=step, loss=round(loss.item(), 3),
                       **evaluate(model, val, args.batch_images),
                       seconds=round(time.time() - start, 1))
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def main(argv=None) -> int:
    parser = OneLineArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default='data/synthetic')
    parser.add_argument('--config', default=CONFIG, help='model of the region_vit arm')
    parser.add_argument('--arms', nargs='+', choices=ARMS, default=list(ARMS))
    parser.add_argument('--steps', type=non_negative_int, default=400)
    parser.add_argument('--eval-every', type=non_negative_int, default=100)
    parser.add_argument('--batch-images', type=non_negative_int, default=32)
    parser.add_argument('--budget', type=non_negative_int, default=256,
                        help='patch budget of the region_vit arm (the config trains at 256)')
    parser.add_argument('--lr', type=float, default=2e-3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default=None, help='also write the rows to this JSON file')
    args = parser.parse_args(argv)
    if not osp.isfile(osp.join(args.data_root, 'world_meta.json')):
        parser.error(f'no synthetic world in {args.data_root} (run '
                     'tools/generate_synthetic_world.py or tools/quickstart.py first)')
    import fgclip2_mm.datasets  # noqa: F401  (registers the transforms)
    import fgclip2_mm.models  # noqa: F401
    from fgclip2_mm.synthetic_world.vocabulary import COLOUR_NAMES
    from fgclip2_mm.synthetic_world.world_info import profile_name, read_world_meta
    meta = read_world_meta(args.data_root)
    train = sorted(load_objects(args.data_root, 'train').items())
    val = sorted(load_objects(args.data_root, 'val').items())
    shapes = Counter(o[1] for _, objs in train for o in objs)
    majority = shapes.most_common(1)[0][0]
    val_total = sum(len(objs) for _, objs in val)
    majority_top1 = sum(o[1] == majority for _, objs in val for o in objs) / val_total
    print(f'{profile_name(meta)} world, {len(meta["classes"])} shapes; objects: train '
          f'{sum(shapes.values())}, val {val_total}; majority-shape val top-1 '
          f'{majority_top1:.3f}', flush=True)
    rows = []
    for arm in args.arms:
        rows += train_arm(arm, args, train, val, len(meta['classes']), len(COLOUR_NAMES))
    if args.out:  # the quick-start report reads this file as the supervised bound
        world = dict(profile=profile_name(meta), majority_shape_top1=round(majority_top1, 4))
        with open(args.out, 'w') as f:
            json.dump([dict(row, **world) for row in rows], f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
