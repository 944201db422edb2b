"""DDP (gloo, find_unused_parameters=False) with ranks whose batches differ: one rank has
boxes and hard negatives, the other none (a Chinese batch). No hang, every parameter gets
the same averaged gradient on both ranks, and that gradient is the single-process one."""
import datetime
import os

import pytest
import torch
import torch.distributed as dist

from fgclip2_mm.testing import spawn_and_join
from .helpers import batch, tiny_model


def _worker(rank, world_size, folder):
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{folder}/store', rank=rank,
                            world_size=world_size, timeout=datetime.timedelta(seconds=60))
    try:
        model = tiny_model(seed=0).train()
        ddp = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=False,
                                                        broadcast_buffers=False)
        inputs = batch(seed=rank, regions=(rank == 0))
        for _ in range(2):  # a second step: the reducer must not be left waiting
            ddp.zero_grad()
            losses = ddp(inputs, mode='loss')
            loss, _ = model.parse_losses(losses)
            loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters()}
        torch.save(dict(grads=grads, regions=float(losses['num_regions']),
                        tau=float(model.losses.hard_negative.cmr_threshold)),
                   os.path.join(folder, f'rank{rank}.pt'))
        dist.barrier()  # no rank tears gloo down while the other still has work in flight
    finally:
        dist.destroy_process_group()


@pytest.mark.dist
def test_ranks_with_and_without_boxes(tmp_path):
    spawn_and_join(_worker, args=(2, str(tmp_path)), nprocs=2)
    out = [torch.load(tmp_path / f'rank{r}.pt') for r in range(2)]
    assert out[0]['regions'] == out[1]['regions'] == 7  # the global count, on both ranks
    assert out[0]['tau'] == out[1]['tau']  # the CMR threshold stays identical
    for name, grad in out[0]['grads'].items():
        torch.testing.assert_close(grad, out[1]['grads'][name], msg=name)
    # DDP's average equals the single-process gradient on the concatenated batch (the
    # losses are global-batch losses: the mean over ranks is the single-process loss).
    parts = [batch(seed=rank, regions=(rank == 0)) for rank in range(2)]
    joint = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
    model = tiny_model(seed=0).train()
    for _ in range(2):
        model.zero_grad()
        model.parse_losses(model(joint, mode='loss'))[0].backward()
    errors = {name: float((out[0]['grads'][name] - p.grad).abs().max() /
                          p.grad.abs().max().clamp(min=1e-12))
              for name, p in model.named_parameters()}
    assert max(errors.values()) < 1e-4, sorted(errors.items(), key=lambda kv: -kv[1])[:3]
    assert out[0]['grads']['vision_backbone.dense_head.attn.qkv.weight'].abs().sum() > 0
