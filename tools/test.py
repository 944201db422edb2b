"""Evaluate a checkpoint with an mmengine Runner.

Example::

    python tools/test.py configs/eval/CONFIG.py work_dirs/x/epoch_6.pth
    python tools/test.py CONFIG checkpoints/fgclip2_base_mm   # a checkpoint folder

A checkpoint *folder* (ours, the official Hugging Face one or a SigLIP 2 NaFlex one) sets
the architecture of the config's model (``merge_folder_arch``: everything else the config
sets, the data preprocessor and its ``pad_to`` included, is kept) and its weights are loaded
strictly; when the config's ``test_cfg.tokenizer`` is unset, the tokenizer is read from the
folder too. A ``.pth`` / ``.safetensors`` file is mmengine's ``load_from``.

mmdet's usual flags: ``--out FILE.pkl`` dumps every prediction (mmengine ``DumpResults``),
``--show-dir DIR`` draws them (``FGCLIP2ZeroShotVisHook``), ``--work-dir``,
``--cfg-options``, ``--launcher``; ``tools/dist_test.sh CONFIG CKPT GPUS`` runs it on GPUs.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Optional

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import fgclip2_mm  # noqa: F401  (safe checkpoint loading on torch >= 2.6, registries)
from fgclip2_mm.evaluation.loop import unwrap_model
from fgclip2_mm.models.utils.checkpoint_folder import load_folder_into, read_checkpoint_folder
from fgclip2_mm.models.vlms.build_from_folder import merge_folder_arch
from fgclip2_mm.utils.cli import OneLineArgumentParser


def parse_args(argv=None):
    parser = OneLineArgumentParser(description='Evaluate an fgclip2_mm model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='checkpoint: a folder (ours or official), a .pth from training or '
                        'a .safetensors file of our layout')
    parser.add_argument('--work-dir', help='directory for logs and metrics')
    parser.add_argument('--out', help='dump every prediction to this pickle file '
                        '(.pkl / .pickle)')
    parser.add_argument('--show-dir', help='draw the predictions into this folder (relative '
                        'to work_dir/TIMESTAMP unless absolute)')
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
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out must name a .pkl or .pickle file, got {args.out!r}')
    return args


def use_folder(cfg: Config, folder: str) -> None:
    """Take the architecture of a checkpoint folder into ``cfg.model`` (weights are loaded
    by :func:`load_folder_weights` once the runner is built) and default the tokenizer to
    the folder."""
    cfg.model = merge_folder_arch(cfg.model, folder)
    cfg.load_from = None
    for loop in ('test_cfg', 'val_cfg'):
        if isinstance(cfg.get(loop), dict) and 'tokenizer' in cfg[loop] \
                and cfg[loop].tokenizer is None:
            cfg[loop].tokenizer = folder


def load_folder_weights(runner, folder: str) -> None:
    """Load a checkpoint folder into the runner's model, strictly (every key of the model
    from the folder, shapes checked; the folder path is named in any error)."""
    load_folder_into(unwrap_model(runner.model), read_checkpoint_folder(folder))


def add_outputs(cfg: Config, out: Optional[str], show_dir: Optional[str]) -> None:
    """``--out``: append mmengine's ``DumpResults`` to the test evaluator (as mmdet's
    ``tools/test.py`` does); ``--show-dir``: add the prediction-drawing hook."""
    if out is not None:
        evaluator = cfg.test_evaluator
        metrics = list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]
        metrics.append(dict(type='mmengine.DumpResults', out_file_path=out))
        cfg.test_evaluator = metrics
    if show_dir is not None:
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
            dict(type='fgclip2_mm.FGCLIP2ZeroShotVisHook', out_dir=show_dir)]


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
    folder = args.checkpoint if args.checkpoint and osp.isdir(args.checkpoint) else None
    if folder is not None:
        use_folder(cfg, folder)
    elif args.checkpoint is not None:
        cfg.load_from = args.checkpoint
    add_outputs(cfg, args.out, args.show_dir)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    if folder is not None:
        load_folder_weights(runner, folder)
    runner.test()


if __name__ == '__main__':
    sys.exit(main())
