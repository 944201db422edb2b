"""Train with an mmengine Runner (or FlexibleRunner when the config sets ``runner_type``).

Examples::

    python tools/train.py configs/fgclip2_stage2.py
    python tools/train.py configs/fgclip2_stage2.py --resume            # latest in work_dir
    python tools/train.py configs/fgclip2_stage2.py --resume work_dirs/x/iter_2000.pth
    torchrun --nproc_per_node 8 tools/train.py CONFIG --launcher pytorch
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import fgclip2_mm  # noqa: F401  (safe checkpoint loading on torch >= 2.6, registries)
from fgclip2_mm.datasets.no_training_data import NoTrainingDataError
from fgclip2_mm.utils.cli import OneLineArgumentParser


def parse_args(argv=None):
    parser = OneLineArgumentParser(description='Train an fgclip2_mm model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='directory for logs and checkpoints')
    parser.add_argument(
        '--resume', nargs='?', const='auto', default=None,
        help='resume from the given checkpoint, or from the latest one in work_dir when no '
        'path is given')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. train_dataloader.batch_size=8')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if not osp.isfile(args.config):
        parser.error(f'config file not found: {args.config}')
    return args


def build_config(args) -> Config:
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(f'--amp needs an OptimWrapper, got {optim_wrapper}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('dtype', 'bfloat16')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = build_config(args)
    try:
        if 'runner_type' in cfg:
            runner = RUNNERS.build(cfg)
        else:
            runner = Runner.from_cfg(cfg)
        runner.train()
    except (FileNotFoundError, NoTrainingDataError) as err:  # missing data, tokenizer or
        print(f'tools/train.py: error: {err}', file=sys.stderr)  # checkpoint; no batch
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
