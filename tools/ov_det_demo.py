"""Open-vocabulary detection on an image with any English / Chinese vocabulary.

Examples::

    python tools/ov_det_demo.py demo.jpg CONFIG --weights DET.pth --texts "红色的圆形 . blue square"
    python tools/ov_det_demo.py images/ CONFIG --weights DET.pth --texts "heart . 月牙形" \\
        --out-dir outputs --score-thr 0.3

Saves the visualised detections (mmdet's visualizer; Chinese labels need a CJK font, see
``--font``) under ``OUT_DIR/vis/`` and the predictions under ``OUT_DIR/preds/``. Vocabulary
embeddings are cached on disk, so repeating a vocabulary costs no text-tower pass.
"""
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, ROOT)

from fgclip2_mm.utils.cli import OneLineArgumentParser  # noqa: E402

LANGUAGES = ('auto', 'en', 'zh')


def parse_args(argv=None):
    parser = OneLineArgumentParser(
        description='Open-vocabulary detection with FG-CLIP 2 (English / Chinese vocabulary)')
    parser.add_argument('image', help='an image file or a folder of images')
    parser.add_argument('config', help='detector config (projects/fgclip2_ovdet/configs/...)')
    parser.add_argument('--weights', help='detector checkpoint (.pth); none = untrained heads')
    parser.add_argument('--texts', required=True,
                        help='vocabulary, names separated by " . ", e.g. "红色的圆形 . blue square"')
    parser.add_argument('--language', choices=LANGUAGES, default='auto',
                        help='prompt templates: auto (per name, by script), en or zh')
    parser.add_argument('--out-dir', default='outputs/ov_det', help='output folder')
    parser.add_argument('--score-thr', type=float, default=0.3, help='drawing threshold')
    parser.add_argument('--device', default='cpu', help='e.g. cpu or cuda:0')
    parser.add_argument('--font', help='a font file with Chinese glyphs for the labels')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='config overrides key=value (e.g. model.backbone.checkpoint=...)')
    args = parser.parse_args(argv)
    for path, what in ((args.image, 'image'), (args.config, 'config')):
        if not osp.exists(path):
            parser.error(f'{what} not found: {path}')
    if args.weights and not osp.isfile(args.weights):
        parser.error(f'weights not found: {args.weights}')
    if args.font and not osp.isfile(args.font):
        parser.error(f'font not found: {args.font}')
    if not 0 <= args.score_thr <= 1:
        parser.error(f'--score-thr must lie in [0, 1], got {args.score_thr}')
    from fgclip2_mm.integrations.mmdet.utils import parse_vocabulary
    try:
        args.names = parse_vocabulary(args.texts)
    except ValueError as exc:
        parser.error(str(exc))
    options = {}
    for item in args.cfg_options:
        if '=' not in item:
            parser.error(f'--cfg-options expects key=value, got {item!r}')
        key, value = item.split('=', 1)
        options[key] = value
    args.options = options
    return parser, args


def main(argv=None) -> int:
    parser, args = parse_args(argv)
    import fgclip2_mm  # noqa: F401  (mmdet:: bases, safe checkpoint loading)
    from mmengine.config import Config, DictAction

    from fgclip2_mm.integrations.mmdet import FGCLIP2OVDetInferencer
    try:
        cfg = Config.fromfile(args.config)
        if args.options:
            parsed = DictAction._parse_iterable
            cfg.merge_from_dict({k: parsed(v) for k, v in args.options.items()})
        if args.font:
            cfg.visualizer.font_path = args.font
        inferencer = FGCLIP2OVDetInferencer(cfg, weights=args.weights, texts=args.names,
                                            language=args.language, device=args.device)
        result = inferencer(args.image, out_dir=args.out_dir, pred_score_thr=args.score_thr,
                            no_save_pred=False)
    except (ValueError, FileNotFoundError, KeyError, OSError) as exc:
        print(f'{parser.prog}: error: {exc}', file=sys.stderr)
        return 1
    classes = inferencer.model.dataset_meta['classes']
    for pred in result['predictions']:
        kept = [(classes[label], score) for label, score in zip(pred['labels'], pred['scores'])
                if score >= args.score_thr]
        shown = ', '.join(f'{name} {score:.2f}' for name, score in kept) or 'nothing'
        print(f'detections above {args.score_thr}: {shown}')
    print(f'visualisations: {osp.join(args.out_dir, "vis")}{os.sep}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
