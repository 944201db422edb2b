"""FSDP wrap policy for FG-CLIP 2 (used by the FlexibleRunner + FSDPStrategy configs)."""
import functools

from torch import nn

from ..registry import FUNCTIONS


@FUNCTIONS.register_module()
def fgclip2_fsdp_wrap_policy(module: nn.Module, recurse: bool, nonwrapped_numel: int) -> bool:
    """Wrap every transformer block and MAP head of both towers in its own FSDP unit.

    The signature of a ``torch.distributed.fsdp`` auto-wrap policy. Referenced by name from
    configs: ``model_wrapper=dict(auto_wrap_policy=dict(type='fgclip2_fsdp_wrap_policy'))``
    (mmengine looks policies up in the ``FUNCTIONS`` registry).
    """
    from torch.distributed.fsdp.wrap import transformer_auto_wrap_policy
    from ..models.backbones.layers import EncoderLayer, MAPHead
    policy = functools.partial(transformer_auto_wrap_policy,
                               transformer_layer_cls={EncoderLayer, MAPHead})
    return policy(module, recurse, nonwrapped_numel)
