"""Time one FG-CLIP 2 stage-2 train step and its model FLOPs utilisation (MFU).

A full step of the recipe's layout (NaFlex images at a patch budget, short + long texts,
K = 4 region slots with 11 texts per hard box; ``tools/benchmarks/bench_train_step.py``'s
batch) through the five losses, backward and AdamW, in bf16 autocast on CUDA. The FLOPs of
one step (forward + backward) are counted with ``torch.utils.flop_counter.FlopCounterMode``
(matrix products and attention; element-wise work is not counted) and printed, with the
time of a step (mean of ``--steps`` after ``--warmup``, CUDA events) and the MFU against
``--peak-tflops`` (dense bf16 of the H200 by its datasheet; KINDS.md measured about 790 on
one here, printed too).

Example::

    python3 tools/device/train_step_mfu.py --arch base --batch-size 64        # GPU machine
    python tools/device/train_step_mfu.py --arch tiny --batch-size 2 --steps 1 --device cpu
"""
import json
import os.path as osp
import sys
import time

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'tools', 'benchmarks'))

from bench_train_step import LOSSES, make_batch  # noqa: E402

from fgclip2_mm.utils.cli import OneLineArgumentParser, non_negative_int  # noqa: E402

PEAK_BF16_TFLOPS = 989.0  # H200 SXM dense bf16, datasheet
MEASURED_BF16_TFLOPS = 790.0  # 8192^3 bf16 matmul measured on one such machine (KINDS.md)


def step_flops(model, batch: dict) -> int:
    """FLOPs of one forward + backward (counted, not estimated)."""
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter:
        loss, _ = model.parse_losses(model(batch, mode='loss'))
        loss.backward()
    model.zero_grad(set_to_none=True)
    return int(counter.get_total_flops())


def main(argv=None) -> int:
    parser = OneLineArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', default='base', help="FG-CLIP 2 arch ('base' = B/16)")
    parser.add_argument('--batch-size', type=non_negative_int, default=64)
    parser.add_argument('--patches', type=non_negative_int, default=256)
    parser.add_argument('--steps', type=non_negative_int, default=10)
    parser.add_argument('--warmup', type=non_negative_int, default=3)
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--peak-tflops', type=float, default=PEAK_BF16_TFLOPS)
    parser.add_argument('--json', default=None, help='also write the numbers here')
    args = parser.parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device (use --device cpu for a dry run)')
    from fgclip2_mm.models import FGCLIP2
    from fgclip2_mm.models.utils.arch_zoo import get_arch
    torch.manual_seed(0)
    device = torch.device(args.device)
    model = FGCLIP2(arch=args.arch, losses=LOSSES).train().to(device)
    text = get_arch(args.arch)['text']
    batch = {k: v.to(device) for k, v in make_batch(
        args.batch_size, patches=args.patches, short=text['max_len'], long=text['long_len'],
        vocab=min(text['vocab_size'], 1024)).items()}
    optim = torch.optim.AdamW(model.parameters(), lr=1e-5)
    dtype = torch.bfloat16
    autocast = torch.autocast(device.type, dtype=dtype)
    with autocast:
        flops = step_flops(model, batch)

    def step():
        with torch.autocast(device.type, dtype=dtype):
            loss, _ = model.parse_losses(model(batch, mode='loss'))
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()

    for _ in range(args.warmup):
        step()
    if device.type == 'cuda':
        torch.cuda.synchronize()
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        for _ in range(args.steps):
            step()
        end.record()
        torch.cuda.synchronize()
        seconds = begin.elapsed_time(end) / 1e3 / max(1, args.steps)
        memory_gb = torch.cuda.max_memory_allocated() / 2**30
    else:
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        seconds = (time.perf_counter() - start) / max(1, args.steps)
        memory_gb = None
    achieved = flops / seconds / 1e12
    row = dict(arch=args.arch, batch_size=args.batch_size, patches=args.patches,
               device=torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu',
               params_m=round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
               step_flops=flops, step_seconds=round(seconds, 4),
               achieved_tflops=round(achieved, 2),
               mfu_datasheet=round(achieved / args.peak_tflops, 4),
               mfu_measured_peak=round(achieved / MEASURED_BF16_TFLOPS, 4),
               images_per_second=round(args.batch_size / seconds, 1),
               max_memory_gb=None if memory_gb is None else round(memory_gb, 2))
    print(f'train step {args.arch} B={args.batch_size} ({args.patches} patches): '
          f'{seconds * 1e3:.1f} ms, {flops / 1e12:.3f} TFLOP counted per step, '
          f'{achieved:.1f} TFLOP/s = MFU {row["mfu_datasheet"]:.3f} of {args.peak_tflops} '
          f'(datasheet), {row["mfu_measured_peak"]:.3f} of {MEASURED_BF16_TFLOPS} (measured)',
          flush=True)
    print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(row, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
