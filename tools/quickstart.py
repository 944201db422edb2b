"""The quick start: build the synthetic bilingual world and run every capability on it.

Writes ``work_dirs/quickstart/summary.json`` (one section per capability: pretrain, eval,
ov_det, ov_seg), pictures next to it and ``report.html``, one page with every number next
to its controls and every picture. Example::

    python tools/quickstart.py
    python tools/quickstart.py --profile legacy --data-root data/synthetic_legacy
    python tools/quickstart.py --num-train 64 --num-val 32 --work-dir work_dirs/qs_small
"""
import argparse
import sys

from fgclip2_mm.synthetic_world.profiles import DEFAULT_PROFILE, PROFILES
from fgclip2_mm.quickstart import SECTIONS, QuickstartConfig, run_quickstart
from fgclip2_mm.utils.cli import OneLineArgumentParser, non_negative_int


def main(argv=None) -> int:
    parser = OneLineArgumentParser(description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/quickstart')
    parser.add_argument('--data-root', default='data/synthetic',
                        help='where the synthetic world is generated or reused')
    parser.add_argument('--profile', choices=tuple(PROFILES), default=DEFAULT_PROFILE,
                        help='synthetic world profile (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train', type=non_negative_int, default=750)
    parser.add_argument('--num-val', type=non_negative_int, default=250)
    parser.add_argument('--workers', type=non_negative_int, default=None,
                        help='processes for world generation (default: up to 2)')
    parser.add_argument('--regenerate', action='store_true',
                        help='rebuild the world even if a matching one exists')
    parser.add_argument('--report-only', action='store_true',
                        help='only rewrite report.html from the summary.json of --work-dir')
    parser.add_argument('--sections', default=','.join(SECTIONS),
                        help=f'comma-separated subset of {",".join(SECTIONS)}')
    args = parser.parse_args(argv)
    if args.report_only:
        from fgclip2_mm.visualization import write_report
        try:
            print(write_report(args.work_dir))
        except ValueError as err:
            parser.error(str(err))
        return 0
    try:
        config = QuickstartConfig(
            work_dir=args.work_dir, data_root=args.data_root, profile=args.profile,
            seed=args.seed,
            num_train=args.num_train, num_val=args.num_val, workers=args.workers,
            regenerate=args.regenerate,
            sections=[s for s in args.sections.split(',') if s])
    except ValueError as err:
        parser.error(str(err))
    run_quickstart(config)
    return 0


if __name__ == '__main__':
    sys.exit(main())
