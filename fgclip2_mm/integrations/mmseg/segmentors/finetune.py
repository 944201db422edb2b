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
rows, so :class:`QVTrainableQKV` replaces the Linear by three parameters of which only q and
v require gradients; its state dict keeps the fused ``weight`` / ``bias`` keys, so
checkpoints load in both directions.
"""
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn


class QVTrainableQKV(nn.Module):
    """Drop-in replacement of a fused ``qkv`` ``nn.Linear(D, 3D)`` whose query and value
    rows are trainable parameters and whose key rows and bias are frozen.

    ``weight`` (3D, D) and ``bias`` (3D,) read like the Linear's (``Attention.cross`` slices
    them), and the module's state dict holds exactly ``weight`` and ``bias``.

    Args:
        linear (nn.Linear): The fused projection; its values are copied.
    """

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        if linear.out_features != 3 * linear.in_features or linear.bias is None:
            raise ValueError(f'expected a fused qkv Linear(D, 3D) with bias, got '
                             f'Linear({linear.in_features}, {linear.out_features}, '
                             f'bias={linear.bias is not None})')
        q, k, v = linear.weight.detach().clone().chunk(3, dim=0)
        self.q_weight = nn.Parameter(q)
        self.k_weight = nn.Parameter(k, requires_grad=False)
        self.v_weight = nn.Parameter(v)
        self.bias = nn.Parameter(linear.bias.detach().clone(), requires_grad=False)
        self._register_state_dict_hook(_fuse_state)
        self._register_load_state_dict_pre_hook(_split_state)

    @property
    def weight(self) -> torch.Tensor:
        """The fused (3D, D) weight, rows q, k, v."""
        return torch.cat([self.q_weight, self.k_weight, self.v_weight])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., D) -> (..., 3D), as the fused Linear."""
        return F.linear(x, self.weight, self.bias)

    def train_rows(self) -> Iterator[nn.Parameter]:
        """The trainable parameters (q and v weights)."""
        return iter((self.q_weight, self.v_weight))


def _fuse_state(module: QVTrainableQKV, state: dict, prefix: str, local_metadata) -> dict:
    """State-dict hook: ``q_weight`` / ``k_weight`` / ``v_weight`` -> one ``weight``."""
    parts = [state.pop(prefix + name) for name in ('q_weight', 'k_weight', 'v_weight')]
    state[prefix + 'weight'] = torch.cat(parts)
    return state


def _split_state(state: dict, prefix: str, *args) -> None:
    """Load pre-hook: a fused ``weight`` -> ``q_weight`` / ``k_weight`` / ``v_weight``."""
    fused = state.pop(prefix + 'weight', None)
    if fused is not None:
        for name, part in zip(('q_weight', 'k_weight', 'v_weight'), fused.chunk(3, dim=0)):
            state[prefix + name] = part


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
