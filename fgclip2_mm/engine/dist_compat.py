"""``--launcher pytorch`` on machines without CUDA (CPU clusters, CI) for mmengine 0.10.7.

mmengine's ``_init_dist_pytorch`` calls ``torch.cuda.set_device(local_rank)`` whenever no
NPU/MLU/MUSA is present, so on a CPU-only torch every ``torchrun ... --launcher pytorch``
run dies in ``Runner.setup_env`` with ``AttributeError: module 'torch._C' has no attribute
'_cuda_setDevice'`` before the gloo process group exists. :func:`register_cpu_dist_support`
(called on ``import fgclip2_mm``) wraps it: without CUDA it only initialises the process
group (the configs' ``dist_cfg.backend`` must then be ``gloo``); with CUDA it is mmengine's
function, unchanged.
"""
import torch

_PATCHED = '_fgclip2_cpu_dist'


def _cpu_aware(original):

    def init_dist_pytorch(backend, init_backend='torch', **kwargs) -> None:
        if torch.cuda.is_available() or init_backend != 'torch':
            return original(backend, init_backend=init_backend, **kwargs)
        if backend == 'nccl':
            raise ValueError('dist_cfg.backend is "nccl" but CUDA is not available; set '
                             "env_cfg=dict(dist_cfg=dict(backend='gloo')) for CPU training")
        torch.distributed.init_process_group(backend=backend, **kwargs)

    setattr(init_dist_pytorch, _PATCHED, True)
    return init_dist_pytorch


def register_cpu_dist_support() -> bool:
    """Make mmengine's pytorch launcher work without CUDA (idempotent).

    Returns:
        bool: True when mmengine's function is (now) wrapped.
    """
    from mmengine.dist import utils
    if not getattr(utils._init_dist_pytorch, _PATCHED, False):
        utils._init_dist_pytorch = _cpu_aware(utils._init_dist_pytorch)
    return True
