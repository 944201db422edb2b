"""CAT-Seg's ``CLIP_FINETUNE: attention`` on FG-CLIP 2: only the query and value projection
weights of the attention layers are trained.

CAT-Seg (cvlab-kaist/CAT-Seg, HEAD 6d3a188) builds OpenAI CLIP with
``third_party/model_vpt.py``, whose ``Attention`` (l.168-181) splits the fused
``in_proj_weight`` into ``q_proj_weight``, ``k_proj_weight`` and ``v_proj_weight``
parameters, and ``cat_seg_model.py`` l.58-75 then trains, among the parameters whose name
holds ``transformer``, those of ``attn`` whose name holds ``q_proj`` or ``v_proj``: the query
and value weights of every layer of both towers. The key weights, the fused
``in_proj_bias``, the output projections, MLPs and norms stay frozen; its ``position``
branch matches no parameter of OpenAI CLIP (the tables are ``positional_embedding`` and
``visual.positional_embedding``, outside ``transformer``), so the position tables are frozen
as well.

FG-CLIP 2 fuses the three projections into one ``qkv`` Linear (rows q, k, v). A gradient
mask on that tensor would still let AdamW's decoupled weight decay shrink the frozen key
rows, so :class:`QVTrainableQKV` replaces the Linear by three projections of which only q
and v require gradients; its state dict keeps the fused ``weight`` / ``bias`` keys, so
checkpoints load in both directions.
"""
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn


class QVTrainableQKV(nn.Module):
    """Drop-in replacement of a fused ``qkv`` ``nn.Linear(D, 3D)`` whose query and value
    projections are trainable and whose key projection and bias are frozen.

    The three projections are bias-free ``nn.Linear(D, D)`` children ``q``, ``k`` and ``v``,
    so an optimizer constructor that decays Linear weights decays the trained q / v weights
    as CAT-Seg's AdamW does (``train_net.py`` l.197-226: weight decay 1e-4 on every
    non-norm parameter). ``weight`` (3D, D) and ``bias`` (3D,) read like the Linear's
    (``Attention.cross`` slices them), and the state dict holds exactly ``weight`` and
    ``bias``.

    Args:
        linear (nn.Linear): The fused projection; its values are copied.
    """

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        dims = linear.in_features
        if linear.out_features != 3 * dims or linear.bias is None:
            raise ValueError(f'expected a fused qkv Linear(D, 3D) with bias, got '
                             f'Linear({dims}, {linear.out_features}, '
                             f'bias={linear.bias is not None})')
        weight = linear.weight.detach()
        for name, part in zip(_PARTS, weight.chunk(3, dim=0)):
            proj = nn.Linear(dims, dims, bias=False, device=weight.device, dtype=weight.dtype)
            proj.weight.data.copy_(part)
            setattr(self, name, proj)
        self.k.weight.requires_grad_(False)
        self.bias = nn.Parameter(linear.bias.detach().clone(), requires_grad=False)
        self._register_state_dict_hook(_fuse_state)
        self._register_load_state_dict_pre_hook(_split_state)

    @property
    def weight(self) -> torch.Tensor:
        """The fused (3D, D) weight, rows q, k, v."""
        return torch.cat([self.q.weight, self.k.weight, self.v.weight])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., D) -> (..., 3D), as the fused Linear."""
        return F.linear(x, self.weight, self.bias)

    def train_rows(self) -> Iterator[nn.Parameter]:
        """The trainable parameters (q and v weights)."""
        return iter((self.q.weight, self.v.weight))


_PARTS = ('q', 'k', 'v')


def _fuse_state(module: QVTrainableQKV, state: dict, prefix: str, local_metadata) -> dict:
    """State-dict hook: ``q.weight`` / ``k.weight`` / ``v.weight`` -> one ``weight``."""
    parts = [state.pop(f'{prefix}{name}.weight') for name in _PARTS]
    state[prefix + 'weight'] = torch.cat(parts)
    return state


def _split_state(state: dict, prefix: str, *args) -> None:
    """Load pre-hook: a fused ``weight`` -> ``q.weight`` / ``k.weight`` / ``v.weight``."""
    fused = state.pop(prefix + 'weight', None)
    if fused is not None:
        for name, part in zip(_PARTS, fused.chunk(3, dim=0)):
            state[f'{prefix}{name}.weight'] = part


def finetune_qv_attention(attentions) -> None:
    """Make the q / v weights of every attention in ``attentions`` trainable (CAT-Seg's
    ``attention`` mode, see the module docstring); their other parameters are frozen.

    Args:
        attentions (Sequence[nn.Module]): Attention modules with a fused ``qkv`` Linear (or
            an already converted :class:`QVTrainableQKV`), converted in place.

    Raises:
        ValueError: An entry without a fused ``qkv`` projection, or no entry at all.
    """
    if not attentions:
        raise ValueError('finetune="attention" needs at least one attention module')
    for attn in attentions:
        qkv = getattr(attn, 'qkv', None)
        if isinstance(qkv, nn.Linear):
            attn.qkv = qkv = QVTrainableQKV(qkv)
        if not isinstance(qkv, QVTrainableQKV):
            raise ValueError(f'{type(attn).__name__} has no fused qkv projection to split')
        attn.requires_grad_(False)
        for param in qkv.train_rows():
            param.requires_grad_(True)
