"""Open-vocabulary segmentation of one image with FG-CLIP 2, any English / Chinese vocabulary.

Saves a colourised overlay with a legend (classes present, largest first). Chinese names
need a CJK font; without one the picture shows ``index: English name`` (or
``class <index>``) and the names go to ``<out>.labels.txt``.

Examples::

    python tools/ov_seg_demo.py street.jpg --clip checkpoints/fg-clip2-base \\
        --texts car person "road, street" sky --out street_seg.png
    python tools/ov_seg_demo.py street.jpg --clip checkpoints/fg-clip2-base \\
        --texts 汽车 行人 道路 天空 --out street_zh.png
    python tools/ov_seg_demo.py img.jpg --config projects/fgclip2_ovseg/configs/catseg/\\
fgclip2-b16_catseg_zero-shot_voc21.py --weights work_dirs/.../iter_80000.pth \\
        --dataset fgclip2_mm.PascalVOC21Dataset --language zh
"""
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = osp.join(ROOT, 'projects', 'fgclip2_ovseg', 'configs', '_base_', 'models',
                          'fgclip2_training_free.py')
LANGUAGES = ('en', 'zh', 'en+zh')


def parse_args(argv=None):
    from fgclip2_mm.utils.cli import OneLineArgumentParser
    parser = OneLineArgumentParser(description='FG-CLIP 2 open-vocabulary segmentation demo')
    parser.add_argument('image', help='input image')
    vocab = parser.add_mutually_exclusive_group(required=True)
    vocab.add_argument('--texts', nargs='+', help='class names, English or Chinese; '
                       'synonyms of one class separated by commas, e.g. "road, street"')
    vocab.add_argument('--vocab-file', help='class file: one class per line, synonyms '
                       'separated by commas')
    vocab.add_argument('--dataset', help='a registered dataset type whose classes to use, '
                       'e.g. fgclip2_mm.PascalVOC21Dataset')
    parser.add_argument('--config', default=DEFAULT_CONFIG, help='segmentor config '
                        '(default: the training-free model)')
    parser.add_argument('--clip', help='FG-CLIP 2 checkpoint folder (sets model.clip)')
    parser.add_argument('--tokenizer', help='tokenizer folder (default: the checkpoint)')
    parser.add_argument('--weights', help='trained segmentor checkpoint (.pth)')
    parser.add_argument('--language', choices=LANGUAGES, help='names to use for --dataset '
                        'vocabularies (default: the config\'s)')
    parser.add_argument('--prob-thd', type=float, help='background threshold (class 0)')
    parser.add_argument('--out', default='ov_seg_overlay.png', help='overlay picture (PNG)')
    parser.add_argument('--alpha', type=float, default=0.5, help='overlay opacity in [0, 1]')
    parser.add_argument('--device', default='cpu', help='torch device')
    args = parser.parse_args(argv)
    for name in ('image', 'config', 'vocab_file', 'weights'):
        path = getattr(args, name)
        if path is not None and not osp.isfile(path):
            parser.error(f'{name.replace("_", "-")} not found: {path}')
    for name in ('clip', 'tokenizer'):
        path = getattr(args, name)
        if path is not None and not osp.isdir(path):
            parser.error(f'--{name} must be a folder: {path}')
    if not 0.0 <= args.alpha <= 1.0:
        parser.error(f'--alpha must lie in [0, 1], got {args.alpha}')
    if args.prob_thd is not None and not 0.0 <= args.prob_thd < 1.0:
        parser.error(f'--prob-thd must lie in [0, 1), got {args.prob_thd}')
    if args.texts is not None and not any(t.strip() for t in args.texts):
        parser.error('--texts needs at least one non-empty class name')
    return parser, args


def main(argv=None) -> int:
    parser, args = parse_args(argv)
    import fgclip2_mm  # noqa: F401  (registries, safe checkpoints, mmseg:: config bases)
    import fgclip2_mm.integrations.mmseg  # noqa: F401
    from fgclip2_mm.integrations.mmseg import FGCLIP2OVSegInferencer
    from mmengine.config import Config
    cfg = Config.fromfile(args.config)
    overrides = {k: v for k, v in dict(clip=args.clip, tokenizer=args.tokenizer,
                                       prob_thd=args.prob_thd).items() if v is not None}
    cfg.merge_from_dict(dict(model=overrides))
    if args.texts is not None:
        texts = [t.strip() for t in args.texts if t.strip()]
    else:
        texts = args.vocab_file or dict(dataset=args.dataset)
    try:
        inferencer = FGCLIP2OVSegInferencer(cfg, weights=args.weights, device=args.device)
        out = inferencer(args.image, texts=texts, language=args.language, out_file=args.out,
                         alpha=args.alpha)
    except (ValueError, FileNotFoundError) as exc:
        parser.error(str(exc).splitlines()[0])
    shares = {out['classes'][i]: round(float((out['pred'] == i).mean()), 3)
              for i in sorted(set(out['pred'].ravel().tolist()))}
    print(f'overlay: {out["overlay"]}')
    if out['labels_file']:
        print(f'no CJK font found: class names written to {out["labels_file"]}')
    print('classes (share of pixels): ' + ', '.join(f'{k} {v}' for k, v in shares.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
