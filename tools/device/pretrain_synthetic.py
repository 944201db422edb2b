"""Pretrain a small FG-CLIP 2 on a large calibrated synthetic world (the GPU machine's job).

The same code path as the quick start's ``pretrain`` section
(:func:`fgclip2_mm.quickstart.pretrain_stage.run`: ``configs/fgclip2_stage2_synthetic.py``,
mmengine Runner, the five stage-2 losses, held-out evaluation, random-weights control),
with a bigger world, a bigger batch, bf16 autocast on CUDA and more steps. Writes to
``--out``:

* ``fgclip2_synthetic_gpu.tar.gz``: the folder to commit as ``checkpoints/``
  (``fgclip2_synthetic_gpu/model``: a ``load_fgclip2`` folder with its tokenizer,
  ``provenance.json``, ``metrics.json``); the quick start's downstream sections use it when
  it is committed (``fgclip2_mm/quickstart/encoder.py``);
* ``metrics.json`` and ``provenance.json`` (command, seed, git commit, steps, batch, world
  profile / size / seed, device, timings) next to it.

``--dry-run`` is the CPU check of the same path: a tiny world, a few steps, fp32.

Example (on the GPU machine, through tools/device/pretrain_synthetic.sh)::

    python3 tools/device/pretrain_synthetic.py --out $OUT
    python tools/device/pretrain_synthetic.py --dry-run --out /tmp/dry
"""
import json
import math
import os
import os.path as osp
import shutil
import subprocess
import sys
import tarfile
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from fgclip2_mm.utils.cli import OneLineArgumentParser, non_negative_int  # noqa: E402

FOLDER = 'fgclip2_synthetic_gpu'  # the name of the committed folder (quickstart/encoder.py)
MAX_CHECKPOINT_MB = 5.0
DRY_RUN = dict(num_train=24, num_val=16, steps=3, batch_size=4, loader_workers=0,
               gen_workers=1)


def git_commit() -> str:
    """The checkout's commit (``GIT_COMMIT`` when the tree travelled without ``.git``)."""
    if os.environ.get('GIT_COMMIT'):
        return os.environ['GIT_COMMIT']
    try:
        return subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=REPO, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def overrides(steps: int, batch_size: int, loader_workers: int, cuda: bool) -> dict:
    """Changes to the CPU config: schedule, batch, loader and (CUDA) bf16 autocast.

    The logit bias starts at the prior log-odds of a positive pair, log(1 / (B - 1)), as
    the CPU config does for its batch of 32.
    """
    warmup = max(1, int(0.03 * steps))
    out = {
        'train_cfg': dict(max_iters=steps, val_interval=steps + 1),
        'param_scheduler': [
            dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup),
            dict(type='CosineAnnealingLR', by_epoch=False, begin=warmup, end=steps,
                 T_max=max(1, steps - warmup), eta_min=0.0)],
        'train_dataloader': dict(batch_size=batch_size, num_workers=loader_workers,
                                 persistent_workers=loader_workers > 0),
        'model': dict(logit_bias_init=round(-math.log(max(2, batch_size) - 1), 3)),
        'default_hooks': dict(checkpoint=dict(interval=steps),
                              logger=dict(interval=max(1, min(25, steps // 10)))),
    }
    if cuda:
        out['optim_wrapper'] = dict(type='AmpOptimWrapper', dtype='bfloat16')
    return out


def folder_mb(path: str) -> float:
    return sum(osp.getsize(osp.join(d, f)) for d, _, files in os.walk(path)
               for f in files) / 2**20


def main(argv=None) -> int:
    parser = OneLineArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=os.environ.get('OUT', 'work_dirs/device'))
    parser.add_argument('--scratch', default=None,
                        help='world and run folder (default: <out>/../fgclip2_device_scratch)')
    parser.add_argument('--profile', default='calibrated')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train', type=non_negative_int, default=20000)
    parser.add_argument('--num-val', type=non_negative_int, default=1000)
    parser.add_argument('--gen-workers', type=non_negative_int, default=16)
    parser.add_argument('--steps', type=non_negative_int, default=800)
    parser.add_argument('--batch-size', type=non_negative_int, default=256)
    parser.add_argument('--loader-workers', type=non_negative_int, default=12)
    parser.add_argument('--dry-run', action='store_true',
                        help='CPU check: tiny world, 3 steps of 4 images, fp32')
    args = parser.parse_args(argv)
    if args.dry_run:
        for key, value in DRY_RUN.items():
            setattr(args, key, value)
    import torch

    from fgclip2_mm.synthetic_world import generate_world, get_profile
    from fgclip2_mm.quickstart import pretrain_stage
    from fgclip2_mm.quickstart.pipeline import QuickstartConfig
    try:
        get_profile(args.profile)
    except ValueError as err:
        parser.error(str(err))
    cuda = torch.cuda.is_available() and not args.dry_run
    start = time.time()
    scratch = args.scratch or osp.join(osp.dirname(osp.abspath(args.out)),
                                       'fgclip2_device_scratch')
    os.makedirs(args.out, exist_ok=True)

    def log(message: str) -> None:
        print(f'[pretrain_synthetic {time.time() - start:6.1f}s] {message}', flush=True)

    world = generate_world(osp.join(scratch, 'world'), seed=args.seed,
                           num_train=args.num_train, num_val=args.num_val,
                           workers=args.gen_workers, overwrite=True, profile=args.profile,
                           progress=lambda m: log(f'world: {m}'))
    world_seconds = time.time() - start
    config = QuickstartConfig(work_dir=osp.join(scratch, 'run'), data_root=world['out_dir'],
                              profile=args.profile, seed=args.seed, sections=[])
    section = pretrain_stage.run(config, {}, log, overrides=overrides(
        args.steps, args.batch_size, args.loader_workers, cuda))

    folder = osp.join(scratch, FOLDER)
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(section['checkpoint'], osp.join(folder, 'model'))
    size_mb = folder_mb(osp.join(folder, 'model'))
    metrics = {k: section[k] for k in pretrain_stage.METRICS}
    metrics.update(controls=section['controls'], final_losses=section['final_losses'])
    provenance = dict(
        command=' '.join([osp.relpath(__file__, REPO)] + list(sys.argv[1:] if argv is None
                                                              else argv)),
        git_commit=git_commit(), seed=args.seed, steps=section['iterations'],
        batch_size=section['batch_size'], precision='bf16 autocast' if cuda else 'fp32',
        device=torch.cuda.get_device_name() if cuda else 'cpu', torch=torch.__version__,
        world=dict(profile=args.profile, seed=args.seed, num_train=args.num_train,
                   num_val=args.num_val, generator_version=world_version(world)),
        config=osp.relpath(section['config'], REPO), checkpoint_mb=round(size_mb, 2),
        seconds=dict(world=round(world_seconds, 1), train=section['train_seconds'],
                     total=round(time.time() - start, 1)),
        dry_run=bool(args.dry_run))
    for name, content in (('metrics.json', metrics), ('provenance.json', provenance)):
        for where in (folder, args.out):
            with open(osp.join(where, name), 'w', encoding='utf-8') as f:
                json.dump(content, f, indent=2, ensure_ascii=False)
    archive = osp.join(args.out, f'{FOLDER}.tar.gz')
    with tarfile.open(archive, 'w:gz') as tar:
        tar.add(folder, arcname=FOLDER)
    log(f'metrics {json.dumps(metrics)}')
    log(f'wrote {archive} ({size_mb:.2f} MB model); unpack it into checkpoints/ and commit')
    if size_mb > MAX_CHECKPOINT_MB:
        log(f'error: the checkpoint is {size_mb:.2f} MB, more than {MAX_CHECKPOINT_MB} MB')
        return 1
    return 0


def world_version(world: dict) -> str:
    with open(world['meta_file'], encoding='utf-8') as f:
        return json.load(f)['generator_version']


if __name__ == '__main__':
    sys.exit(main())
