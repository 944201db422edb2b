"""Can the downstream models fit a handful of training images? Controls that split the blame
between the frozen encoder and our heads.

A model that cannot fit 16 images it trains on has a problem that more data will not fix.
Each task trains on the first ``--images`` annotated training images of a synthetic world.
It then scores the model on those same images, and runs an arm with a conventional
supervised backbone next to ours:

* ``det``: the quick start's OV detector (the synthetic twin config of
  ``projects/fgclip2_ovdet``, base boxes only, the frozen FG-CLIP 2 of ``--checkpoint``):

  - ``fgclip2``: the F-ViT simple pyramid on the frozen tower, as the quick start trains it;
  - ``resnet18``: mmdet's ResNet-18 from random init, trained, replaces the pyramid.
    Everything else stays as it is: FPN, RPN, the text classifier over the checkpoint's
    class embeddings, and the region-score ensemble, whose dense map still comes from the
    frozen tower.

  Reported: AP50 of the detector's output (class-aware), class-agnostic AP50 (localisation
  alone, as the quick start's ``agnostic_ap50_en``), AR@100, and the mean of the last 20
  training losses.
* ``seg``:

  - ``catseg``: the quick start's tiny CAT-Seg head on the frozen FG-CLIP 2;
  - ``fpn_r18``: mmseg's Semantic FPN on ResNetV1c-18 from random init, a plain 17-way
    classifier. It uses the same data pipeline, batch, iterations and AdamW learning rate.

  Reported: mIoU and background IoU on the training images.

Example (after the quick start has written its pretrained checkpoint)::

    python tools/benchmarks/overfit_control.py det --images 16 --epochs 100
    python tools/benchmarks/overfit_control.py seg --images 16 --iters 1000
"""
import json
import os
import os.path as osp
import sys
import time

from fgclip2_mm.utils.cli import OneLineArgumentParser, non_negative_int

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SEG_CONTROL_CONFIG = osp.join(REPO, 'tools', 'benchmarks', 'configs',
                              'semfpn_r18_synthetic_control.py')
DET_ARMS = ('fgclip2', 'resnet18')
SEG_ARMS = ('catseg', 'fpn_r18')


def first_images_subset(ann_file: str, out_file: str, num_images: int) -> list:
    """Write a COCO file with the first ``num_images`` images that have annotations.

    The images are taken in file order, with all their annotations. The other keys
    (categories, info, ...) are kept.

    Returns:
        list: The kept image ids.
    """
    with open(ann_file, encoding='utf-8') as f:
        coco = json.load(f)
    annotated = {ann['image_id'] for ann in coco['annotations']}
    keep = [im['id'] for im in coco['images'] if im['id'] in annotated][:num_images]
    if len(keep) < num_images:
        raise ValueError(f'{ann_file} has only {len(keep)} annotated images, '
                         f'--images asks for {num_images}')
    chosen = set(keep)
    coco['images'] = [im for im in coco['images'] if im['id'] in chosen]
    coco['annotations'] = [a for a in coco['annotations'] if a['image_id'] in chosen]
    with open(out_file, 'w', encoding='utf-8') as f:
        json.dump(coco, f)
    return keep


def coco_box_scores(ann_file: str, detections_json: str) -> dict:
    """Class-aware AP50 / AR@100 and class-agnostic AP50 (after agnostic NMS).

    pycocotools only scores the images of ``ann_file``.
    """
    from fgclip2_mm.quickstart.ov_det_stage import class_agnostic_ap50, coco_bbox_stats
    with open(detections_json, encoding='utf-8') as f:
        detections = json.load(f)
    scores = dict(ap50=0.0, ar100=0.0)
    if detections:
        stats = coco_bbox_stats(ann_file, detections)
        scores = dict(ap50=round(max(stats[1], 0.0), 4), ar100=round(max(stats[8], 0.0), 4))
    scores['agnostic_ap50'] = class_agnostic_ap50(ann_file, detections_json)
    return scores


def _last_losses(runner, window: int = 20) -> dict:
    return {
        key[len('train/'):]: round(float(buf.mean(window)), 4)
        for key, buf in runner.message_hub.log_scalars.items()
        if key.startswith('train/') and 'loss' in key
    }


def _register_resnet18_backbone():
    """The ``resnet18`` arm's backbone (registered on first use, not at import time)."""
    from mmdet.models.backbones import ResNet
    from torch import nn

    from fgclip2_mm.integrations.mmdet.backbone import FGCLIP2DetBackbone
    from fgclip2_mm.registry import MODELS

    class ResNet18ControlBackbone(FGCLIP2DetBackbone):
        """ResNet-18 (random init, trained) levels at strides 4-32, projected to the tower's
        width; the frozen tower still gives the dense map at test time."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.resnet = ResNet(
                depth=18,
                frozen_stages=-1,
                norm_eval=True,
                norm_cfg=dict(type='BN', requires_grad=True))
            self.resnet_projs = nn.ModuleList(
                nn.Conv2d(c, self.embed_dims, 1) for c in (64, 128, 256, 512))

        def forward(self, images, img_shapes=None, with_dense=False):
            dense = super().forward(images, img_shapes, True)[1] if with_dense else None
            return tuple(p(x) for p, x in zip(self.resnet_projs, self.resnet(images))), dense

    MODELS.register_module(
        name='ResNet18ControlBackbone', module=ResNet18ControlBackbone, force=True)


def run_det(args, arm: str, work_dir: str) -> dict:
    from mmengine.runner import Runner

    from fgclip2_mm.quickstart import QuickstartConfig, ov_det_stage
    subset = osp.join(work_dir, f'train_base_first{args.images}.json')
    first_images_subset(
        osp.join(args.data_root, 'annotations', 'instances_train_base.json'), subset, args.images)
    config = QuickstartConfig(work_dir=work_dir, data_root=args.data_root, seed=args.seed)
    cfg = ov_det_stage.build_config(config, args.checkpoint, args.tokenizer,
                                    osp.join(work_dir, arm), args.epochs)
    if arm == 'resnet18':
        _register_resnet18_backbone()
        cfg.model.backbone.type = 'fgclip2_mm.ResNet18ControlBackbone'
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        loader.dataset.ann_file = subset
    cfg.test_evaluator.ann_file = subset
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None  # test once, after training
    runner = Runner.from_cfg(cfg)
    start = time.time()
    runner.train()
    seconds = round(time.time() - start, 1)
    runner.test()
    row = dict(task='det', arm=arm, images=args.images, epochs=args.epochs, train_seconds=seconds)
    row.update(coco_box_scores(subset, cfg.test_evaluator.outfile_prefix + '.bbox.json'))
    row['losses'] = _last_losses(runner)
    return row


def run_seg(args, arm: str, work_dir: str) -> dict:
    from mmengine.config import Config
    from mmengine.runner import Runner

    from fgclip2_mm.quickstart import QuickstartConfig, ov_seg_stage
    if arm == 'catseg':
        import fgclip2_mm.integrations.mmseg  # noqa: F401
        config = QuickstartConfig(work_dir=work_dir, data_root=args.data_root, seed=args.seed)
        model = dict(
            clip=args.checkpoint,
            tokenizer=args.tokenizer,
            language='en',
            cache_dir=osp.join(work_dir, 'text_cache'))
        cfg = ov_seg_stage._config(ov_seg_stage.CAT_CONFIG, config, work_dir, arm, model)
    else:
        cfg = Config.fromfile(SEG_CONTROL_CONFIG)
        cfg.work_dir = osp.join(work_dir, arm)
        cfg.randomness = dict(seed=args.seed)
        for loader in (cfg.train_dataloader, cfg.test_dataloader):
            loader.dataset.data_root = args.data_root
    cfg.train_cfg.max_iters = args.iters
    warmup = min(50, args.iters // 2)
    cfg.param_scheduler = ([
        dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=warmup)
    ] if warmup else []) + [
        dict(type='CosineAnnealingLR', by_epoch=False, begin=warmup, end=args.iters, eta_min=0)
    ]
    cfg.train_dataloader.dataset.indices = args.images
    cfg.test_dataloader.dataset.data_prefix = dict(
        img_path='images/train', seg_map_path='seg_maps/train')
    cfg.test_dataloader.dataset.indices = args.images
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint.interval = args.iters
    runner = Runner.from_cfg(cfg)
    start = time.time()
    runner.train()
    seconds = round(time.time() - start, 1)
    per_class = _keep_class_iou(runner.test_loop.evaluator.metrics[0])
    metrics = runner.test()
    return dict(
        task='seg',
        arm=arm,
        images=args.images,
        iters=args.iters,
        train_seconds=seconds,
        miou=round(float(metrics['mIoU']) / 100, 4),
        background_iou=per_class['iou'][0],
        losses=_last_losses(runner))


def _keep_class_iou(metric) -> dict:
    """Make an mmseg ``IoUMetric`` also keep its per-class IoU (it only logs the table).

    Returns:
        dict: Filled by the evaluation: ``iou``, the per-class IoU (class 0 first).
    """
    kept, compute = {}, metric.compute_metrics

    def compute_and_keep(results):
        intersect = sum(r[0] for r in results)  # (area_intersect, area_union, ...) per image
        union = sum(r[1] for r in results)
        kept['iou'] = [round(float(i / u), 4) if u > 0 else None for i, u in zip(intersect, union)]
        return compute(results)

    metric.compute_metrics = compute_and_keep
    return kept


def parse_args(argv=None):
    parser = OneLineArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('task', choices=('det', 'seg'))
    parser.add_argument(
        '--arms',
        nargs='+',
        default=None,
        help=f'det: {DET_ARMS}; seg: {SEG_ARMS} (default: both)')
    parser.add_argument('--images', type=non_negative_int, default=16)
    parser.add_argument('--epochs', type=non_negative_int, default=100, help='det')
    parser.add_argument('--iters', type=non_negative_int, default=1000, help='seg')
    parser.add_argument('--data-root', default='data/synthetic')
    parser.add_argument(
        '--checkpoint',
        default='work_dirs/quickstart/pretrain/model',
        help='load_fgclip2 folder of the pretrained FG-CLIP 2')
    parser.add_argument(
        '--tokenizer', default=None, help='tokenizer folder (default: <data-root>/tokenizer)')
    parser.add_argument('--work-dir', default='work_dirs/overfit_control')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default=None, help='also write the rows as JSON here')
    args = parser.parse_args(argv)
    arms = DET_ARMS if args.task == 'det' else SEG_ARMS
    args.arms = args.arms or list(arms)
    for arm in args.arms:
        if arm not in arms:
            parser.error(f'unknown {args.task} arm {arm!r}; choose from {arms}')
    for name in ('images', 'epochs', 'iters'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be >= 1')
    args.tokenizer = args.tokenizer or osp.join(args.data_root, 'tokenizer')
    for name, folder in (('--data-root', args.data_root), ('--checkpoint', args.checkpoint),
                         ('--tokenizer', args.tokenizer)):
        if not osp.isdir(folder):
            parser.error(f'{name} folder not found: {folder!r} (run the quick start first, '
                         'or point it at a world / a load_fgclip2 folder)')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    work_dir = osp.join(args.work_dir, args.task)
    os.makedirs(work_dir, exist_ok=True)
    run = run_det if args.task == 'det' else run_seg
    rows = []
    for arm in args.arms:
        rows.append(run(args, arm, work_dir))
        print(json.dumps(rows[-1]), flush=True)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
