"""Pretraining step benchmarks (CPU), every number measured in this run.

1. ``step``: seconds per ``train_step`` (forward, the five losses, backward, AdamW) of the
   ``small`` (quick-start) and ``base`` towers on a synthetic batch with the recipe's layout
   (K = 4 region slots, 11 texts per hard box), and their ratio.
2. ``memory``: the global sigmoid loss on W gloo processes (W = 1, 2, 4) with B images per
   rank: the largest block of logits (a matmul output without the feature dimension,
   recorded on rank 0 by a ``TorchDispatchMode``; it must stay B x B, never the global
   W*B x W*B matrix) and the peak of allocated-minus-freed bytes during forward + backward
   (replayed from the profiler's allocation events), next to the size of the gathered
   texts, which must grow with W.
3. ``syncs``: calls that need a host synchronisation on a GPU (``item``, ``tolist``,
   ``nonzero``, ``__bool__``, ``__int__``, ``__float__``, ``cpu``) made by ``model.loss``,
   counted with a ``TorchFunctionMode`` (it sees every torch function and Tensor method
   called from Python; syncs inside a C++ op, e.g. boolean-mask indexing, are invisible to
   it, which is why the region path uses ``nonzero`` + ``index_select`` explicitly), for
   several batch sizes: the count must not grow with B.

Example::

    python tools/benchmarks/bench_train_step.py                  # everything
    python tools/benchmarks/bench_train_step.py --only syncs --sizes 2 8 32
"""
import os
import sys
import tempfile
import time
from collections import Counter

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from fgclip2_mm.utils.cli import OneLineArgumentParser

SYNC_NAMES = ('item', 'tolist', 'nonzero', '__bool__', '__int__', '__float__', 'cpu')
LOSSES = dict(
    sigmoid=dict(type='FGCLIP2SigmoidLoss'),
    region=dict(type='FGCLIP2RegionContrastiveLoss'),
    tic=dict(type='FGCLIP2TICLoss'),
    hard_negative=dict(type='FGCLIP2HardNegativeLoss'))


def make_batch(b: int, k: int = 4, patches: int = 256, short: int = 64, long: int = 196,
               vocab: int = 1024, seed: int = 0) -> dict:
    """A pretraining batch: mixed NaFlex grids, K slots (about 3/4 valid), 11 texts each."""
    gen = torch.Generator().manual_seed(seed)
    side = int(patches**0.5)
    shapes = torch.tensor([[side - i % 3, side] for i in range(b)])
    n = int(shapes.prod(-1).max())
    mask = (torch.arange(n)[None] < shapes.prod(-1, keepdim=True)).int()
    lo = torch.rand(b, k, 2, generator=gen) * 0.5
    valid = torch.rand(b, k, generator=gen) < 0.75
    return dict(
        pixel_values=torch.randn(b, n, 768, generator=gen) * mask[..., None],
        pixel_attention_mask=mask, spatial_shapes=shapes,
        input_ids=torch.randint(3, vocab, (b, short), generator=gen),
        long_input_ids=torch.randint(3, vocab, (b, long), generator=gen),
        long_valid=torch.ones(b, dtype=torch.bool),
        region_boxes=torch.cat([lo, lo + 0.3], -1), region_valid=valid,
        box_input_ids=torch.randint(3, vocab, (b, k, short), generator=gen),
        hard_valid=valid.clone(),
        hardneg_input_ids=torch.randint(3, vocab, (b, k, 11, short), generator=gen))


def build(arch: str, **kwargs):
    from fgclip2_mm.models import FGCLIP2
    torch.manual_seed(0)
    return FGCLIP2(arch=arch, losses=LOSSES, **kwargs).train()


def bench_step(args) -> None:
    from fgclip2_mm.models.utils.arch_zoo import get_arch
    rows = []
    for arch, batch_size, steps in (('small', args.small_batch, args.steps),
                                    ('base', args.base_batch, max(2, args.steps // 2))):
        text = get_arch(arch)['text']
        model = build(arch)
        optim = torch.optim.AdamW(model.parameters(), lr=1e-4)
        inputs = make_batch(batch_size, short=text['max_len'], long=text['long_len'],
                            vocab=min(text['vocab_size'], 1024))
        times = []
        for _ in range(steps + 1):  # the first step warms up
            start = time.perf_counter()
            loss, _ = model.parse_losses(model(inputs, mode='loss'))
            optim.zero_grad()
            loss.backward()
            optim.step()
            times.append(time.perf_counter() - start)
        best = min(times[1:])
        rows.append((arch, batch_size, best))
        params = sum(p.numel() for p in model.parameters()) / 1e6
        print(f'step  {arch:5s} B={batch_size:3d}: {best:.3f} s/step, '
              f'{best / batch_size * 1e3:.1f} ms/image (best of {steps}; {params:.1f}M params)',
              flush=True)
        del model, optim
    (_, bs, small), (_, bb, base) = rows
    print(f'step  ratio base/small per image: {(base / bb) / (small / bs):.1f}x')


class _LargestLogits(TorchDispatchMode):
    """Largest matmul output without the feature dimension (a block of logits)."""

    def __init__(self, dims: int):
        super().__init__()
        self.dims, self.largest, self.shape = dims, 0, None

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func.__name__.split('.')[0] in ('mm', 'addmm', 'bmm', 'matmul') and \
                self.dims not in out.shape[-2:] and out.numel() > self.largest:
            self.largest, self.shape = out.numel(), tuple(out.shape)
        return out


def _peak_bytes(prof) -> int:
    events = sorted((e for e in prof.events() if e.self_cpu_memory_usage),
                    key=lambda e: e.time_range.start)
    live = peak = 0
    for event in events:
        live += event.self_cpu_memory_usage
        peak = max(peak, live)
    return peak


def _memory_worker(rank, world_size, folder, batch, dims, impl, queue) -> None:
    from fgclip2_mm.models.losses import FGCLIP2SigmoidLoss
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{folder}/store', rank=rank,
                            world_size=world_size)
    gen = torch.Generator().manual_seed(rank)
    image = torch.randn(batch, dims, generator=gen, requires_grad=True)
    texts = [torch.randn(batch, dims, generator=gen, requires_grad=True) for _ in range(2)]
    scale, bias = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    loss_fn = FGCLIP2SigmoidLoss(dist_impl=impl)
    tracker = _LargestLogits(dims)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU],
                                profile_memory=True) as prof, tracker:
        out = loss_fn(image, texts[0], scale, bias, long_text_embeds=texts[1])
        (out['loss_siglip_short'] + out['loss_siglip_long']).backward()
    if rank == 0:
        queue.put((tracker.shape, _peak_bytes(prof)))
    dist.barrier()
    dist.destroy_process_group()


def bench_memory(args) -> None:
    ctx = mp.get_context('spawn')
    print(f'memory global sigmoid loss (short + long captions, D={args.dims}, '
          f'dist_impl={args.impl}), rank 0:')
    for batch in args.sizes:
        for world_size in (1, 2, 4):
            queue = ctx.Queue()
            with tempfile.TemporaryDirectory() as folder:
                procs = [ctx.Process(target=_memory_worker, args=(r, world_size, folder, batch,
                                                                  args.dims, args.impl, queue))
                         for r in range(world_size)]
                for proc in procs:
                    proc.start()
                shape, peak = queue.get(timeout=600)
                for proc in procs:
                    proc.join()
            glob = world_size * batch
            print(f'memory B={batch:5d} W={world_size}: largest logit block {shape} (global '
                  f'matrix would be ({glob}, {glob})); peak allocated {peak / 2**20:7.1f} MiB '
                  f'(gathered texts: {world_size * batch * (2 * args.dims + 1) * 4 / 2**20:.1f}'
                  ' MiB)', flush=True)


class _SyncCounter(TorchFunctionMode):

    def __init__(self):
        super().__init__()
        self.counts = Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, '__name__', '')
        if name in SYNC_NAMES:
            self.counts[name] += 1
        return func(*args, **(kwargs or {}))


def bench_syncs(args) -> None:
    model = build('tiny')
    totals = []
    for batch in args.sizes:
        inputs = make_batch(batch, k=4, patches=16)
        counter = _SyncCounter()
        with counter:
            model.parse_losses(model(inputs, mode='loss'))[0].backward()
        totals.append(sum(counter.counts.values()))
        print(f'syncs B={batch:3d} (K=4 slots, {int(inputs["region_valid"].sum())} valid): '
              f'{totals[-1]} calls {dict(sorted(counter.counts.items()))}', flush=True)
    verdict = 'constant in B' if len(set(totals)) == 1 else 'GROWS WITH B'
    print(f'syncs per step: {verdict} (ratio largest/smallest batch: '
          f'{totals[-1] / max(totals[0], 1):.2f})')


def main(argv=None) -> int:
    parser = OneLineArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--only', choices=('step', 'memory', 'syncs'), default=None)
    parser.add_argument('--steps', type=int, default=4, help='timed steps (small arch)')
    parser.add_argument('--small-batch', type=int, default=32)
    parser.add_argument('--base-batch', type=int, default=2)
    parser.add_argument('--sizes', type=int, nargs='+', default=[64, 256, 1024],
                        help='batch sizes per rank (memory) or per step (syncs)')
    parser.add_argument('--dims', type=int, default=768)
    parser.add_argument('--impl', choices=('gather', 'bidir'), default='gather')
    args = parser.parse_args(argv)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores', flush=True)
    for name, fn in (('step', bench_step), ('memory', bench_memory), ('syncs', bench_syncs)):
        if args.only in (None, name):
            fn(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
