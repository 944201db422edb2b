"""FG-CLIP 2 text tower with its three walks (short, box, long)."""
import copy
from typing import Optional, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from fgclip2_mm.registry import MODELS
from ..backbones.layers import EncoderLayer, check_attn_impl, run_layers
from ..utils.arch_zoo import text_arch
from ..utils.pos_embed import stretch_text_pos_embed

WALK_TYPES = ('short', 'box', 'long')
WALK_HEADS = dict(short='head', box='boxtext_head', long='longtext_head')


@MODELS.register_module()
class FGCLIP2TextEncoder(BaseModule):
    """SigLIP 2 text transformer with FG-CLIP 2's position tables and walk heads.

    Walks (spec §1.3): the token embeddings plus a position table go through the
    (non-causal) encoder and ``ln_final``; the hidden state at the **last position** is
    pooled (SigLIP "sticky EOS": with max-length padding this is usually a pad token) and
    projected by the walk's head:

    - ``'short'``: rows ``[0, L)`` of ``pos_embed`` (64 rows), then ``head``;
    - ``'box'``: same positions, then ``boxtext_head`` (``head`` is skipped);
    - ``'long'``: rows ``[0, keep_len)`` of ``long_pos_ori`` and ``[keep_len, L)`` of
      ``long_pos_res`` (196 rows each; the other halves are unused, as in the reference),
      then ``longtext_head``. The reference only works with exactly 196 tokens; so do we
      unless ``long_walk_any_length=True``, which accepts any L <= 196 using the first L
      rows of that same combined table (off the training distribution: the pooled token
      then sits at another position; the 196-token result is unchanged).

    Text attention mask: training never passes one (pads attend and are attended), so the
    default ``attention_mask=None`` reproduces training. The official inference code may
    forward the tokenizer's mask, which masks pads as keys; that is a train/inference
    mismatch in the reference (spec §1.3, §10) and is offered here only on request.

    Args:
        arch (str | dict): Arch name or text arch dict (see
            :func:`fgclip2_mm.models.utils.arch_zoo.text_arch`). Defaults to ``'base'``.
        vocab_size (int, optional): Overrides the arch vocabulary (e.g. the size of a test
            tokenizer). Defaults to None.
        long_walk_any_length (bool): See above. Defaults to False.
        frozen (bool): Freeze the whole tower (eval mode, no grads, kept in ``train()``).
            Defaults to False.
        with_cp (bool): Gradient checkpointing per layer. Defaults to False.
        attn_impl (str): ``'sdpa'`` or ``'eager'``. Defaults to ``'sdpa'``.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 vocab_size: Optional[int] = None,
                 long_walk_any_length: bool = False,
                 frozen: bool = False,
                 with_cp: bool = False,
                 attn_impl: str = 'sdpa',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=copy.deepcopy(init_cfg))
        cfg = text_arch(arch)
        if vocab_size is not None:
            cfg['vocab_size'] = int(vocab_size)
        self.arch = cfg
        self.embed_dims = dims = cfg['embed_dims']
        self.num_layers = cfg['num_layers']
        self.max_len, self.long_len, self.keep_len = (cfg['max_len'], cfg['long_len'],
                                                      cfg['keep_len'])
        self.long_walk_any_length = long_walk_any_length
        self.frozen = bool(frozen)
        self.with_cp = with_cp
        self.attn_impl = check_attn_impl(attn_impl)

        self.token_embedding = nn.Embedding(cfg['vocab_size'], dims)
        self.pos_embed = nn.Parameter(torch.zeros(self.max_len, dims))
        self.long_pos_ori = nn.Parameter(torch.zeros(self.long_len, dims))
        self.long_pos_res = nn.Parameter(torch.zeros(self.long_len, dims))
        self.layers = nn.ModuleList(
            EncoderLayer(dims, cfg['num_heads'], cfg['mlp_dims'], cfg['layer_norm_eps'],
                         cfg['hidden_act'], attn_impl) for _ in range(self.num_layers))
        self.ln_final = nn.LayerNorm(dims, eps=cfg['layer_norm_eps'])
        self.head = nn.Linear(dims, cfg['proj_dims'])
        self.boxtext_head = nn.Linear(dims, dims)
        self.longtext_head = nn.Linear(dims, dims)
        self.reset_parameters()
        self._freeze()

    def reset_parameters(self) -> None:
        """SigLIP-style random init; long tables stretched from ``pos_embed`` and the walk
        heads copied from ``head`` when the sizes allow it (as ``--from_siglip2`` does)."""
        nn.init.normal_(self.token_embedding.weight, std=self.embed_dims**-0.5)
        nn.init.normal_(self.pos_embed, std=self.embed_dims**-0.5)
        for layer in self.layers:
            layer.reset_parameters()
        nn.init.normal_(self.head.weight, std=self.embed_dims**-0.5)
        nn.init.zeros_(self.head.bias)
        if self.long_len == 4 * self.max_len - 3 * self.keep_len:
            self.init_long_pos_from_short()
        else:
            nn.init.normal_(self.long_pos_ori, std=self.embed_dims**-0.5)
            nn.init.normal_(self.long_pos_res, std=self.embed_dims**-0.5)
        if self.head.out_features == self.embed_dims:
            self.init_walk_heads_from_head()
        else:
            for head in (self.boxtext_head, self.longtext_head):
                nn.init.normal_(head.weight, std=self.embed_dims**-0.5)
                nn.init.zeros_(head.bias)

    @torch.no_grad()
    def init_long_pos_from_short(self) -> None:
        """Set ``long_pos_ori`` and ``long_pos_res`` to the LongCLIP stretch of
        ``pos_embed`` (spec §1.3; 64 -> 196 rows keeping 20)."""
        table = stretch_text_pos_embed(self.pos_embed, self.keep_len, self.long_len)
        self.long_pos_ori.copy_(table)
        self.long_pos_res.copy_(table)

    @torch.no_grad()
    def init_walk_heads_from_head(self) -> None:
        """Copy ``head`` into ``boxtext_head`` and ``longtext_head`` (needs proj == D)."""
        if self.head.out_features != self.embed_dims:
            raise ValueError(f'cannot copy head ({self.head.out_features} outputs) into the '
                             f'{self.embed_dims}x{self.embed_dims} walk heads')
        for head in (self.boxtext_head, self.longtext_head):
            head.weight.copy_(self.head.weight)
            head.bias.copy_(self.head.bias)

    def _freeze(self) -> None:
        if self.frozen:
            nn.Module.train(self, False)  # not self.eval(): that would call train() again
            self.requires_grad_(False)

    def train(self, mode: bool = True) -> 'FGCLIP2TextEncoder':
        super().train(mode)
        self._freeze()
        return self

    def pos_table(self, walk_type: str, length: int) -> torch.Tensor:
        """Position rows (L, D) of a walk for a sequence of ``length`` tokens.

        Raises:
            ValueError: Unknown walk, or a length the walk cannot take.
        """
        if not isinstance(walk_type, str) or walk_type not in WALK_TYPES:
            got = repr(walk_type) if isinstance(walk_type, str) else type(walk_type).__name__
            raise ValueError(f'walk_type={got} is not supported, expected one of {WALK_TYPES} '
                             '(pass attention_mask by keyword)')
        if walk_type != 'long':
            if length > self.max_len:
                raise ValueError(f'the {walk_type!r} walk takes at most {self.max_len} tokens, '
                                 f'got {length}; tokenize to {self.max_len} or use '
                                 f'walk_type="long"')
            return self.pos_embed[:length]
        if length > self.long_len or (length != self.long_len and not self.long_walk_any_length):
            need = f'at most {self.long_len}' if self.long_walk_any_length else \
                f'exactly {self.long_len} (pad to max length)'
            raise ValueError(f'the "long" walk takes {need} tokens, got {length}; '
                             'long_walk_any_length=True accepts shorter sequences')
        keep = min(self.keep_len, length)
        return torch.cat([self.long_pos_ori[:keep], self.long_pos_res[keep:length]])

    def forward_tokens(self,
                       input_ids: torch.Tensor,
                       walk_type: str = 'short',
                       attention_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Token states after ``ln_final``.

        Args:
            input_ids (Tensor): Long (B, L) token ids.
            walk_type (str): ``'short'``, ``'box'`` or ``'long'``. Defaults to ``'short'``.
            attention_mask (Tensor, optional): (B, L), 1 for tokens that may be attended.

        Returns:
            Tensor: (B, L, D).
        """
        if input_ids.ndim != 2:
            raise ValueError(f'input_ids must have shape (B, L), got {tuple(input_ids.shape)}')
        pos = self.pos_table(walk_type, input_ids.shape[1])
        x = self.token_embedding(input_ids) + pos.to(self.token_embedding.weight.dtype)
        key_mask = None if attention_mask is None else attention_mask.to(x.device).bool()
        x, _ = run_layers(self.layers, x, key_mask, self.with_cp)
        return self.ln_final(x)

    def forward(self,
                input_ids: torch.Tensor,
                walk_type: str = 'short',
                attention_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Text embeddings of a walk (not normalised).

        Args:
            input_ids (Tensor): Long (*, L) token ids; leading dims are flattened and
                restored (e.g. (N, 11, L) hard-negative groups).
            walk_type (str): ``'short'``, ``'box'`` or ``'long'``. Defaults to ``'short'``.
            attention_mask (Tensor, optional): (*, L); see the class docstring.

        Returns:
            Tensor: (*, proj_dims) for ``'short'``, (*, D) for ``'box'`` and ``'long'``.
        """
        lead = input_ids.shape[:-1]
        ids = input_ids.reshape(-1, input_ids.shape[-1])
        mask = None if attention_mask is None else attention_mask.reshape(ids.shape)
        pooled = self.forward_tokens(ids, walk_type, mask)[:, -1]
        out = getattr(self, WALK_HEADS[walk_type])(pooled)
        return out.reshape(*lead, out.shape[-1])
