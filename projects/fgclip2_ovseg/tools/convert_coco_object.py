"""Make COCO-Object label maps from mmseg's COCO-Stuff-171 train-id maps.

For every ``<root>/annotations/<split>/*_labelTrainIds.png`` (written by mmseg's
``tools/dataset_converters/coco_stuff164k.py``) writes ``*_objectTrainIds.png`` next to it:
the 80 thing classes become 1..80, every stuff class and the unlabeled pixels the
background 0 (SCLIP's COCO-Object). Maps written by an earlier version (unlabeled kept as
255) are not rewritten without ``--overwrite``.

Example::

    python projects/fgclip2_ovseg/tools/convert_coco_object.py data/coco_stuff164k
"""
import glob
import os.path as osp
import sys

import numpy as np
from PIL import Image

SUFFIX_IN, SUFFIX_OUT = '_labelTrainIds.png', '_objectTrainIds.png'


def main(argv=None) -> int:
    from fgclip2_mm.integrations.mmseg.datasets.converters import coco_stuff_to_object
    from fgclip2_mm.utils.cli import OneLineArgumentParser
    parser = OneLineArgumentParser(description='COCO-Stuff-171 train ids -> COCO-Object ids')
    parser.add_argument('root', help='COCO-Stuff root holding annotations/<split>/')
    parser.add_argument('--splits', nargs='+', default=['val2017'],
                        help='annotation sub-folders to convert (default: val2017)')
    parser.add_argument('--overwrite', action='store_true', help='rewrite existing outputs')
    args = parser.parse_args(argv)
    files = {}
    for split in args.splits:
        folder = osp.join(args.root, 'annotations', split)
        if not osp.isdir(folder):
            parser.error(f'annotation folder not found: {folder}')
        files[split] = sorted(glob.glob(osp.join(folder, f'*{SUFFIX_IN}')))
        if not files[split]:
            parser.error(f'no *{SUFFIX_IN} file in {folder} (run mmseg\'s coco_stuff164k '
                         'converter first)')
    written = skipped = 0
    for split, paths in files.items():
        for path in paths:
            out = path[:-len(SUFFIX_IN)] + SUFFIX_OUT
            if osp.isfile(out) and not args.overwrite:
                skipped += 1
                continue
            try:
                label = coco_stuff_to_object(np.asarray(Image.open(path)))
            except ValueError as exc:
                parser.error(f'{path}: {exc}')
            Image.fromarray(label).save(out)
            written += 1
        print(f'{split}: {len(paths)} label maps')
    print(f'wrote {written} COCO-Object maps, kept {skipped} existing ones')
    return 0


if __name__ == '__main__':
    sys.exit(main())
