"""CUDA checks of the pretraining path (``pytest -m gpu tests/gpu``; skipped without a
CUDA device, which CI never has): bf16 autocast end to end, SDPA on CUDA against the CPU
model, an FSDP wrap on one GPU, and the region path without host synchronisation.
``tools/device/pretrain_synthetic.sh`` runs them first on the GPU machine."""
import os
import os.path as osp
import sys

import pytest
import torch

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
]

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                            'tools', 'benchmarks'))
from bench_train_step import LOSSES, make_batch  # noqa: E402


def _model(arch: str = 'tiny', **kwargs):
    from fgclip2_mm.models import FGCLIP2
    torch.manual_seed(0)
    return FGCLIP2(arch=arch, losses=LOSSES, **kwargs).train()


def _batch(device, b: int = 4):
    from fgclip2_mm.models.utils.arch_zoo import get_arch
    text = get_arch('small')['text']
    batch = make_batch(b, patches=64, short=text['max_len'], long=text['long_len'])
    return {k: v.to(device) for k, v in batch.items()}


def _loss(model, batch):
    loss, _ = model.parse_losses(model(batch, mode='loss'))
    return loss


def test_bf16_autocast_end_to_end():
    model = _model('small').cuda()
    batch = _batch('cuda')
    with torch.autocast('cuda', dtype=torch.bfloat16):
        loss = _loss(model, batch)
    loss.backward()
    assert torch.isfinite(loss)
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    with torch.no_grad(), torch.autocast('cuda', dtype=torch.bfloat16):
        ref = _loss(model.float(), batch)
    assert abs(float(ref) - float(loss)) < 0.1 * abs(float(ref)) + 0.05


def test_sdpa_on_cuda_matches_the_cpu_model():
    model = _model('small').eval()
    batch = _batch('cpu')
    keys = ('pixel_values', 'pixel_attention_mask', 'spatial_shapes')
    with torch.no_grad():
        cpu = model.get_image_features(**{k: batch[k] for k in keys})
        model = model.cuda()
        gpu = model.get_image_features(**{k: batch[k].cuda() for k in keys})
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-3, atol=1e-3)


def test_fsdp_wrap_on_one_gpu(tmp_path):
    import torch.distributed as dist
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    os.environ.setdefault('MASTER_PORT', '29533')
    dist.init_process_group('nccl', rank=0, world_size=1)
    try:
        model = _model('small').cuda()
        batch = _batch('cuda')
        reference = float(_loss(model, batch))
        wrapped = FSDP(model, use_orig_params=True)
        loss = _loss(wrapped, batch)  # FSDP forwards parse_losses to the module
        loss.backward()
        assert abs(float(loss) - reference) < 1e-3 * max(1.0, abs(reference))
        assert any(p.grad is not None for p in wrapped.parameters())
    finally:
        dist.destroy_process_group()


def test_region_path_makes_no_host_synchronisation():
    model = _model('small').cuda()
    batch = _batch('cuda', b=8)
    _loss(model, batch).backward()  # warm-up: lazy init may synchronise once
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try:
        loss = _loss(model, batch)
    finally:
        torch.cuda.set_sync_debug_mode('default')
    assert loss.requires_grad
