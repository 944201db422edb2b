"""Evaluate a checkpoint with an mmengine Runner.

Example::

    python tools/test.py configs/eval/CONFIG.py work_dirs/x/epoch_6.pth
    python tools/test.py CONFIG checkpoints/fgclip2_base_mm   # a checkpoint folder

A checkpoint *folder* (ours or the official Hugging Face one) replaces the config's model by
``FGCLIP2FromFolder`` (architecture and weights from the folder) and, when the config's
``test_cfg.tokenizer`` is unset, the tokenizer is read from the folder too.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import fgclip2_mm  # noqa: F401  (safe checkpoint loading on torch >= 2.6, registries)
from fgclip2_mm.utils.cli import OneLineArgumentParser


def parse_args(argv=None):
    parser = OneLineArgumentParser(description='Evaluate an fgclip2_mm model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='checkpoint: a folder (ours or official), a .pth from training or '
                        'a .safetensors file of our layout')
    parser.add_argument('--work-dir', help='directory for logs and metrics')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. test_dataloader.batch_size=8')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if not osp.isfile(args.config):
        parser.error(f'file not found: {args.config}')
    if args.checkpoint is not None and not osp.exists(args.checkpoint):
        parser.error(f'checkpoint not found: {args.checkpoint}')
    return args


def use_folder(cfg: Config, folder: str) -> None:
    """Build the model from a checkpoint folder and default the tokenizer to it."""
    cfg.model = dict(type='fgclip2_mm.FGCLIP2FromFolder', path=folder)
    cfg.load_from = None
    for loop in ('test_cfg', 'val_cfg'):
        if isinstance(cfg.get(loop), dict) and 'tokenizer' in cfg[loop] \
                and cfg[loop].tokenizer is None:
            cfg[loop].tokenizer = folder


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.checkpoint is not None and osp.isdir(args.checkpoint):
        use_folder(cfg, args.checkpoint)
    elif args.checkpoint is not None:
        cfg.load_from = args.checkpoint
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    runner.test()


if __name__ == '__main__':
    sys.exit(main())
