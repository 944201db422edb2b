"""Benchmark the FG-CLIP 2 vision tower and region pooling on CPU (fp32).

Usage::

    python tools/benchmarks/bench_model.py [--size base] [--repeats 5] [--threads N]

Measured in one run:

(a) vision tower forward (pooled image embeddings), ``--images`` x ``--patches`` tokens:
    ours (``FGCLIP2VisionTransformer``, SDPA) vs transformers' ``Siglip2VisionModel`` (its
    default SDPA) with the *same* weights and inputs, both under ``torch.inference_mode``,
    timed alternately in one process; two batches: every image 16x16 (no padding) and a
    NaFlex mix of shapes padded to ``--patches`` (and once to 4/3 of it, where our token
    packing skips the padding rows). Reported: median and min seconds per forward, the
    throughput ratio (HF time / our time) and the max |diff| of the embeddings.
(b) region features, ``--images`` x ``--boxes`` boxes on base-width dense maps: our batched
    ``roi_align_1x1`` vs a per-image loop like the reference (slice, reshape to (1, D, h, w),
    ``mmcv.ops.roi_align`` when installed, else our op per image); same values checked.
(c) peak memory of (a) (NaFlex mix) and (b): the peak of live tensor bytes allocated
    during one call, from the torch profiler's allocator events replayed in time order
    (:func:`peak_tensor_bytes`). Exact for tensors; it does not see allocations made
    outside torch's allocator (e.g. BLAS workspaces), and it is not the process RSS.
"""
import argparse
import statistics
import time

import torch

SHAPES_MIXED = [[16, 16], [8, 32], [32, 8], [12, 21], [10, 25], [20, 12], [14, 18], [4, 64]]


def _vision_models(size: str):
    from transformers import Siglip2VisionConfig, Siglip2VisionModel
    from fgclip2_mm.models import FGCLIP2
    from fgclip2_mm.models.utils import mm_to_hf
    torch.manual_seed(0)
    model = FGCLIP2(arch=size)
    ours = model.vision_backbone.eval()
    arch = ours.arch
    config = Siglip2VisionConfig(
        hidden_size=arch['embed_dims'],
        intermediate_size=arch['mlp_dims'],
        num_hidden_layers=arch['num_layers'],
        num_attention_heads=arch['num_heads'],
        num_patches=arch['num_patches'],
        patch_size=arch['patch_size'])
    hf = Siglip2VisionModel._from_config(config, attn_implementation='sdpa').eval()
    state, _ = mm_to_hf(model.state_dict())
    prefix = 'vision_model.'
    hf.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
    return ours, hf


def _vision_batch(shapes, num_tokens, seed=0):
    gen = torch.Generator().manual_seed(seed)
    spatial = torch.tensor(shapes)
    mask = (torch.arange(num_tokens)[None] < spatial.prod(-1, keepdim=True)).int()
    pixels = torch.rand(len(shapes), num_tokens, 768, generator=gen) * 2 - 1
    return dict(
        pixel_values=pixels * mask[..., None], pixel_attention_mask=mask, spatial_shapes=spatial)


def _region_inputs(num_images, num_boxes, dims, seed=0):
    gen = torch.Generator().manual_seed(seed)
    shapes = torch.tensor((SHAPES_MIXED * num_images)[:num_images])
    dense = torch.randn(num_images, 256, dims, generator=gen)
    wh = shapes.flip(-1)[:, None].float()
    xy = torch.rand(num_images, num_boxes, 2, generator=gen) * wh * 0.7
    size = torch.rand(num_images, num_boxes, 2, generator=gen) * (wh - xy) + 0.2
    return dense, shapes, torch.cat([xy, xy + size], -1)


def region_loop(dense, shapes, boxes):
    """Reference-style per-image RoIAlign (one op call per image)."""
    try:
        from mmcv.ops import roi_align as op
    except ImportError:
        op = None
    from fgclip2_mm.models.utils import roi_align_1x1
    outs = []
    for i in range(dense.shape[0]):
        h, w = (int(v) for v in shapes[i])  # host sync per image, as in the reference
        fmap = dense[i, :h * w].reshape(1, h, w, -1).permute(0, 3, 1, 2).contiguous()
        if op is not None:
            rois = torch.cat([boxes.new_zeros(boxes.shape[1], 1), boxes[i]], 1)
            outs.append(op(fmap, rois, (1, 1), 1.0, 0, 'avg', True)[:, :, 0, 0])
        else:
            outs.append(
                roi_align_1x1(fmap.flatten(2).transpose(1, 2), shapes[i:i + 1], boxes[i:i + 1])[0])
    return torch.stack(outs), 'mmcv.ops.roi_align' if op is not None else 'roi_align_1x1'


def _times(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def bench_vision(args):
    ours, hf = _vision_models(args.size)
    rows = []
    mixed = (SHAPES_MIXED * args.images)[:args.images]
    scenarios = (('uniform 16x16', [[16, 16]] * args.images, args.patches),
                 ('naflex mix', mixed, args.patches), ('naflex mix, padded +33%', mixed,
                                                       args.patches * 4 // 3))
    for name, shapes, num_tokens in scenarios:
        batch = _vision_batch(shapes, num_tokens)
        with torch.inference_mode():
            a, b = ours(**batch)[0], hf(**batch).pooler_output  # warm-up + check
            t_ours, t_hf = [], []
            for _ in range(args.repeats):  # alternate to share the machine's noise
                t_ours += _times(lambda: ours(**batch), 1)
                t_hf += _times(lambda: hf(**batch), 1)
        rows.append(
            dict(
                batch=name,
                tokens=num_tokens,
                ours=t_ours,
                hf=t_hf,
                max_abs_diff=float((a - b).abs().max())))
    return rows


def bench_regions(args):
    from fgclip2_mm.models.utils import roi_align_1x1
    dims = {'tiny': 32, 'base': 768, 'large': 1024, 'so400m': 1152}[args.size]
    dense, shapes, boxes = _region_inputs(args.images, args.boxes, dims)
    batched = roi_align_1x1(dense, shapes, boxes)
    looped, op_name = region_loop(dense, shapes, boxes)
    t_batch, t_loop = [], []
    with torch.inference_mode():
        for _ in range(args.repeats * 10):
            t_batch += _times(lambda: roi_align_1x1(dense, shapes, boxes), 1)
            t_loop += _times(lambda: region_loop(dense, shapes, boxes), 1)
    return dict(
        loop_op=op_name,
        batched=t_batch,
        loop=t_loop,
        max_abs_diff=float((batched - looped).abs().max()))


def peak_tensor_bytes(fn) -> int:
    """Peak bytes of live tensors allocated during ``fn()`` (beyond those alive before).

    Replays the CPU allocator's allocation / free events recorded by the torch profiler
    (``profile_memory=True``) in time order; exact for memory that goes through torch's
    allocator (all tensors, mmcv outputs included), blind to other native allocations.
    """
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == '[memory]']
    live = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        live += event.nbytes()
        peak = max(peak, live)
    return peak


def bench_memory(args):
    from fgclip2_mm.models.utils import roi_align_1x1
    ours, hf = _vision_models(args.size)
    batch = _vision_batch((SHAPES_MIXED * args.images)[:args.images], args.patches)
    dims = ours.embed_dims
    dense, shapes, boxes = _region_inputs(args.images, args.boxes, dims)
    with torch.inference_mode():
        return dict(
            ours=peak_tensor_bytes(lambda: ours(**batch)),
            hf=peak_tensor_bytes(lambda: hf(**batch)),
            batched=peak_tensor_bytes(lambda: roi_align_1x1(dense, shapes, boxes)),
            loop=peak_tensor_bytes(lambda: region_loop(dense, shapes, boxes)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', default='base', choices=('tiny', 'base', 'large', 'so400m'))
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--images', type=int, default=8)
    parser.add_argument('--patches', type=int, default=256)
    parser.add_argument('--boxes', type=int, default=16)
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--skip-memory', action='store_true')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f'torch {torch.__version__}, {args.threads} threads, size={args.size}, '
          f'{args.images} images x {args.patches} patches, {args.boxes} boxes/image, '
          f'repeats={args.repeats}')
    med, low = statistics.median, min
    for row in bench_vision(args):
        t_ours, t_hf = row['ours'], row['hf']
        print(f'(a) vision [{row["batch"]}, N={row["tokens"]}]: ours {med(t_ours) * 1e3:.1f} ms '
              f'(min {low(t_ours) * 1e3:.1f}), transformers {med(t_hf) * 1e3:.1f} ms (min '
              f'{low(t_hf) * 1e3:.1f}) -> throughput ours/HF: median '
              f'{med(t_hf) / med(t_ours):.2f}x, min {low(t_hf) / low(t_ours):.2f}x '
              f'(max |diff| {row["max_abs_diff"]:.1e})')
    reg = bench_regions(args)
    print(f'(b) regions: batched {med(reg["batched"]) * 1e3:.2f} ms (min '
          f'{low(reg["batched"]) * 1e3:.2f}), per-image loop ({reg["loop_op"]}) '
          f'{med(reg["loop"]) * 1e3:.2f} ms (min {low(reg["loop"]) * 1e3:.2f}) -> speed-up '
          f'median {med(reg["loop"]) / med(reg["batched"]):.1f}x, min '
          f'{low(reg["loop"]) / low(reg["batched"]):.1f}x (max |diff| {reg["max_abs_diff"]:.1e})')
    if not args.skip_memory:
        mem = bench_memory(args)

        def fmt(value):
            return f'{value / 2 ** 20:.1f} MiB'

        print(f'(c) peak live-tensor memory of one call (torch profiler allocator events; '
              f'naflex mix): vision ours {fmt(mem["ours"])}, transformers {fmt(mem["hf"])}; '
              f'regions batched {fmt(mem["batched"])}, loop {fmt(mem["loop"])}')


if __name__ == '__main__':
    main()
