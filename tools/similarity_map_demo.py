"""Where does each text match in your image? One heat-map overlay per text.

The FG-CLIP 2 dense path: cosine between every patch's dense feature and the text's
box-walk embedding (``fgclip2_mm.apis.similarity_maps``), drawn over the image with a colour
bar and the text as title. Chinese titles need a CJK font; without one the pictures are
titled ``text <i>`` and the texts are listed in ``OUT/labels.txt``.

Example::

    python tools/similarity_map_demo.py street.jpg --texts "red car" "红色的车" \\
        --checkpoint checkpoints/fg-clip2-base --out outputs/similarity
"""
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, ROOT)

from fgclip2_mm.utils.cli import OneLineArgumentParser  # noqa: E402

WALKS = ('box', 'short', 'long')


def parse_args(argv=None):
    parser = OneLineArgumentParser(
        description='FG-CLIP 2 text-to-image similarity maps (English / Chinese texts)')
    parser.add_argument('image', help='an image file')
    parser.add_argument('--texts', nargs='+', required=True,
                        help='one or more texts, e.g. "red car" "红色的车"')
    parser.add_argument('--checkpoint', required=True,
                        help='FG-CLIP 2 checkpoint folder (official or converted)')
    parser.add_argument('--tokenizer', help='tokenizer folder (default: the checkpoint)')
    parser.add_argument('--out', default='outputs/similarity', help='output folder')
    parser.add_argument('--walk', choices=WALKS, default='box',
                        help='text walk (box: the dense / region path FG-CLIP 2 trains)')
    parser.add_argument('--max-num-patches', type=int,
                        help='patch budget (default: the image\'s FG-CLIP 2 bucket, <= 1024)')
    parser.add_argument('--alpha', type=float, default=0.5, help='heat-map opacity in [0, 1]')
    parser.add_argument('--font', help='a font file with Chinese glyphs for the titles')
    parser.add_argument('--device', default='cpu', help='torch device, e.g. cpu or cuda:0')
    args = parser.parse_args(argv)
    args.texts = [t.strip() for t in args.texts if t.strip()]
    if not args.texts:
        parser.error('--texts needs at least one non-empty text')
    for name in ('checkpoint', 'tokenizer'):
        path = getattr(args, name)
        if path is not None and not osp.isdir(path):
            parser.error(f'--{name} must be a folder: {path}')
    if args.font and not osp.isfile(args.font):
        parser.error(f'font not found: {args.font}')
    if not 0.0 <= args.alpha <= 1.0:
        parser.error(f'--alpha must lie in [0, 1], got {args.alpha}')
    if args.max_num_patches is not None and args.max_num_patches < 1:
        parser.error(f'--max-num-patches must be positive, got {args.max_num_patches}')
    from fgclip2_mm.apis.images import inspect_image
    try:
        inspect_image(args.image)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    return parser, args


def main(argv=None) -> int:
    parser, args = parse_args(argv)
    from fgclip2_mm.apis import load_fgclip2, save_similarity_overlays, similarity_maps
    try:
        model = load_fgclip2(args.checkpoint, device=args.device)
        out = similarity_maps(model, args.image, args.texts, args.tokenizer or args.checkpoint,
                              args.walk, args.max_num_patches)
        saved = save_similarity_overlays(args.out, out['image'], args.texts, out['maps'],
                                         alpha=args.alpha, font_path=args.font)
    except (ValueError, OSError) as exc:
        print(f'{parser.prog}: error: {str(exc).splitlines()[0]}', file=sys.stderr)
        return 1
    for text, path, sim in zip(args.texts, saved['pictures'], out['grid']):
        print(f'{path}: {text} (cosine {sim.min():.3f} .. {sim.max():.3f})')
    if saved['labels_file']:
        print(f'no font draws some titles: texts listed in {saved["labels_file"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
