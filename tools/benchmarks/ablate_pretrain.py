"""Ablation of the quick-start pretraining: TIC and CMR switched off, each and both.

Runs the quick start's ``pretrain`` stage (``configs/fgclip2_stage2_synthetic.py`` on the
synthetic world, same seed) once per variant and prints the metric table:

* ``full``: every loss of the recipe;
* ``no_tic``: ``model.losses.tic=None``;
* ``no_cmr``: CMR weight 0 (``hard_negative.part_weights=(0.6, 3.0, 0.0)``);
* ``no_tic_no_cmr``: both.

Example::

    python tools/benchmarks/ablate_pretrain.py --data-root data/synthetic
    python tools/benchmarks/ablate_pretrain.py --variants full no_tic --iters 300
"""
import json
import os
import os.path as osp
import sys
import time

from fgclip2_mm.utils.cli import OneLineArgumentParser, non_negative_int

NO_CMR = {'model.losses.hard_negative.part_weights': (0.6, 3.0, 0.0)}
NO_TIC = {'model.losses.tic': None}
VARIANTS = {'full': {}, 'no_tic': NO_TIC, 'no_cmr': NO_CMR, 'no_tic_no_cmr': {**NO_TIC, **NO_CMR}}
COLUMNS = ('box_cls_top1_en', 'box_cls_top1_zh', 'hard_neg_acc_en', 'hard_neg_acc_zh',
           'train_seconds')


def main(argv=None) -> int:
    parser = OneLineArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default='data/synthetic',
                        help='a generated world (tools/generate_synthetic_world.py)')
    parser.add_argument('--work-dir', default='work_dirs/ablate_pretrain')
    parser.add_argument('--variants', nargs='+', choices=tuple(VARIANTS), default=list(VARIANTS))
    parser.add_argument('--iters', type=non_negative_int, default=None,
                        help='override train_cfg.max_iters (0: the config value)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if not osp.isfile(osp.join(args.data_root, 'world_meta.json')):
        parser.error(f'no synthetic world in {args.data_root} (run '
                     'tools/generate_synthetic_world.py or tools/quickstart.py first)')
    from fgclip2_mm.quickstart.pipeline import QuickstartConfig
    from fgclip2_mm.quickstart.pretrain_stage import run
    rows = {}
    for name in args.variants:
        overrides = dict(VARIANTS[name])
        if args.iters:
            overrides['train_cfg.max_iters'] = args.iters
        config = QuickstartConfig(work_dir=osp.join(args.work_dir, name), data_root=args.data_root,
                                  seed=args.seed, sections=[])
        os.makedirs(config.work_dir, exist_ok=True)
        start = time.time()
        section = run(config, {}, lambda m: print(f'[{name}] {m}', flush=True), overrides)
        rows[name] = {k: section[k] for k in COLUMNS}
        print(f'[{name}] done in {time.time() - start:.0f} s: {rows[name]}', flush=True)
        with open(osp.join(args.work_dir, 'ablation.json'), 'w', encoding='utf-8') as f:
            json.dump(rows, f, indent=2)
    print('\n| variant | ' + ' | '.join(COLUMNS) + ' |')
    print('|---' * (len(COLUMNS) + 1) + '|')
    for name, row in rows.items():
        print(f'| {name} | ' + ' | '.join(f'{row[c]}' for c in COLUMNS) + ' |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
