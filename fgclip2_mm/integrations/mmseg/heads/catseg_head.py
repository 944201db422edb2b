"""``FGCLIP2CATSegHead``: CAT-Seg's cost-aggregation head (arXiv 2303.11797) on FG-CLIP 2.

Written from cvlab-kaist/CAT-Seg (HEAD 6d3a188): the aggregator of
``cat_seg/modeling/transformer/model.py`` (``Aggregator`` l.558-724), the guidance
upsampling of ``cat_seg/cat_seg_model.py`` (l.80-82, 151-157) and its loss (l.160-174).
Defaults are the ViT-B/16 config ``configs/vitb_384.yaml`` (l.14-30).
"""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from fgclip2_mm.registry import MODELS
from .catseg_layers import ClassAggregationLayer, GuidedWindowBlock, UpBlock
from .head_base import CostVolumeHeadBase, check_same_length
from .losses import catseg_bce_loss

#: Logit of the classes pruned away for an image (CAT-Seg model.py l.721).
PRUNED_LOGIT = -100.0


def prune_classes(cost: torch.Tensor, keep: int) -> torch.Tensor:
    """Indices (B, keep) of the classes with the highest cost anywhere in each image, as
    CAT-Seg keeps at most ``pad_len`` classes (model.py l.693-701).

    Args:
        cost (Tensor): Cosine cost volume (B, P, T, H, W).
        keep (int): Classes to keep.
    """
    best = cost.transpose(1, 2).flatten(2).max(dim=-1)[0]  # B, T
    return best.topk(keep, dim=-1, sorted=False)[1]


@MODELS.register_module()
class FGCLIP2CATSegHead(CostVolumeHeadBase):
    """CAT-Seg's aggregator between dense image features and class text embeddings.

    1. cost volume: cosine of every patch feature with every class embedding, one channel
       per prompt embedding P (B, P, T, h, w); with more than ``pad_len`` classes only the
       ``pad_len`` classes of highest cost are kept per image, the others get
       :data:`PRUNED_LOGIT`;
    2. cost embedding: a 7x7 convolution P -> C;
    3. ``num_blocks`` x (:class:`GuidedWindowBlock` guided by a 3x3 conv + ReLU projection
       of the dense features; :class:`ClassAggregationLayer` guided by a Linear + ReLU
       projection of the class texts, average-pooled by ``pooling_size`` while training and
       ``test_pooling_size`` in eval mode, as CAT-Seg's configs and ``eval.sh`` set it);
    4. ``len(decoder_dims)`` x2 :class:`UpBlock` stages, stage ``i`` guided by backbone layer
       ``i`` upsampled by a transposed convolution (x 2**(i+1), ``guidance_channels[i]``)
       and projected by a 3x3 conv + ReLU to ``decoder_guidance_dims[i]``;
    5. a 3x3 convolution to one logit per class and pixel (no cost skip).

    Trained with per-class binary cross-entropy (:func:`catseg_bce_loss`); predictions are
    sigmoid scores (:attr:`score_activation`).

    Args (in the order of CAT-Seg's ``Aggregator.__init__``, model.py l.559-576):
        in_dims (int): Channels D of the dense features, backbone layers and texts.
        text_guidance_dims (int): Text-guidance channels. Defaults to 128
            (``TEXT_GUIDANCE_PROJ_DIM``).
        guidance_dims (int): Appearance-guidance channels. Defaults to 128
            (``APPEARANCE_GUIDANCE_PROJ_DIM``).
        decoder_dims (Sequence[int]): Upsampling stage widths. Defaults to (64, 32).
        guidance_channels (Sequence[int]): Transposed-convolution widths of the guidance
            layers. Defaults to (256, 128) (``DECODER_GUIDANCE_DIMS``).
        decoder_guidance_dims (Sequence[int]): Projected guidance widths. Defaults to
            (32, 16) (``DECODER_GUIDANCE_PROJ_DIMS``).
        num_blocks (int): Aggregation layers. Defaults to 2 (``NUM_LAYERS`` of B/16).
        num_heads (int): Heads of both attentions. Defaults to 4.
        embed_dims (int): Hidden channels C. Defaults to 128 (``HIDDEN_DIMS``).
        pooling_size (Sequence[int]): Class-aggregation pooling while training. Defaults to
            (2, 2).
        test_pooling_size (Sequence[int]): The same at test time. Defaults to (1, 1).
        window_size (int): Swin window. Defaults to 12.
        prompt_channels (int): P, embeddings per class in ``text`` (K * P rows, class-major).
            Defaults to 1 (the single template of the B/16 config).
        pad_len (int): Class-token padding / pruning length. Defaults to 256.
        ignore_index (int): Label ignored by the loss targets. Defaults to 255.
        loss_weight (float): Multiplier of the loss. Defaults to 1.
        init_cfg (dict, optional): mmengine init config.
    """

    score_activation = 'sigmoid'  # CAT-Seg's scores (cat_seg_model.py l.177, l.213)

    def __init__(self,
                 in_dims: int,
                 text_guidance_dims: int = 128,
                 guidance_dims: int = 128,
                 decoder_dims: Sequence[int] = (64, 32),
                 guidance_channels: Sequence[int] = (256, 128),
                 decoder_guidance_dims: Sequence[int] = (32, 16),
                 num_blocks: int = 2,
                 num_heads: int = 4,
                 embed_dims: int = 128,
                 pooling_size: Sequence[int] = (2, 2),
                 test_pooling_size: Sequence[int] = (1, 1),
                 window_size: int = 12,
                 prompt_channels: int = 1,
                 pad_len: int = 256,
                 ignore_index: int = 255,
                 loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        stages = check_same_length(decoder_dims=decoder_dims,
                                   guidance_channels=guidance_channels,
                                   decoder_guidance_dims=decoder_guidance_dims)
        super().__init__(stages, ignore_index, init_cfg)
        for name, value in (('pooling_size', pooling_size),
                            ('test_pooling_size', test_pooling_size)):
            if len(value) != 2 or min(value) < 1:
                raise ValueError(f'{name} must be two positive ints, got {value}')
        self.pooling_size = tuple(int(v) for v in pooling_size)
        self.test_pooling_size = tuple(int(v) for v in test_pooling_size)
        self.pad_len = int(pad_len)
        self.prompt_channels = int(prompt_channels)
        self.loss_weight = float(loss_weight)
        self.cost_embed = nn.Conv2d(prompt_channels, embed_dims, 7, padding=3)
        self.image_guidance = nn.Sequential(
            nn.Conv2d(in_dims, guidance_dims, 3, padding=1), nn.ReLU())
        self.text_guidance = nn.Sequential(nn.Linear(in_dims, text_guidance_dims), nn.ReLU())
        self.spatial = nn.ModuleList(
            GuidedWindowBlock(embed_dims, guidance_dims, num_heads, window_size)
            for _ in range(num_blocks))
        self.classes = nn.ModuleList(
            ClassAggregationLayer(embed_dims, text_guidance_dims, num_heads, pad_len)
            for _ in range(num_blocks))
        self.guidance_up = nn.ModuleList()
        self.guidance_proj = nn.ModuleList()
        self.decoder = nn.ModuleList()
        in_ch = embed_dims
        for i, (out_ch, up_ch, g_ch) in enumerate(
                zip(decoder_dims, guidance_channels, decoder_guidance_dims)):
            factor = 2**(i + 1)
            self.guidance_up.append(nn.ConvTranspose2d(in_dims, up_ch, factor, stride=factor))
            self.guidance_proj.append(
                nn.Sequential(nn.Conv2d(up_ch, g_ch, 3, padding=1), nn.ReLU()))
            self.decoder.append(UpBlock(in_ch, out_ch, g_ch))
            in_ch = out_ch
        self.cls_conv = nn.Conv2d(in_ch, 1, 3, padding=1)

    def forward(self, dense: torch.Tensor, text: torch.Tensor,
                layers: Sequence[torch.Tensor]) -> torch.Tensor:
        """Per-class logits.

        Args:
            dense (Tensor): Dense image features (B, D, h, w).
            text (Tensor): Class embeddings (K * P, D), the P prompt embeddings of a class
                consecutive.
            layers (Sequence[Tensor]): ``num_stages`` backbone maps (B, D, h, w); layer
                ``i`` guides upsampling stage ``i`` (CAT-Seg: ViT-B/16 block 3 the x2
                stage, block 7 the x4 stage, ``cat_seg_model.py`` l.84, 153-157).

        Returns:
            Tensor: Logits (B, K, h * 2**S, w * 2**S), S = ``num_stages``.
        """
        self.check_guidance(layers)
        if text.shape[0] % self.prompt_channels:
            raise ValueError(f'{text.shape[0]} text embeddings are not a multiple of '
                             f'prompt_channels={self.prompt_channels}')
        batch, _, h, w = dense.shape
        num_classes = text.shape[0] // self.prompt_channels
        dense_n = F.normalize(dense, dim=1)
        text_n = F.normalize(text.to(dense.dtype), dim=-1).view(num_classes,
                                                               self.prompt_channels, -1)
        text_b = text_n.unsqueeze(0).expand(batch, -1, -1, -1)  # B, T, P, D
        cost = torch.einsum('bdhw,btpd->bpthw', dense_n, text_b)
        kept = None
        if 0 < self.pad_len < num_classes:
            kept = prune_classes(cost, self.pad_len)
            text_b = torch.gather(
                text_b, 1, kept[..., None, None].expand(-1, -1, *text_b.shape[2:]))
            cost = torch.einsum('bdhw,btpd->bpthw', dense_n, text_b)
        t = cost.shape[2]
        x = self.cost_embed(cost.transpose(1, 2).reshape(batch * t, -1, h, w))
        x = x.view(batch, t, -1, h, w).transpose(1, 2)  # B, C, T, h, w
        img_guid = self.image_guidance(dense)  # CAT-Seg: the raw features (model.py l.707)
        txt_guid = self.text_guidance(F.normalize(text_b.mean(dim=2), dim=-1))
        pooling = self.pooling_size if self.training else self.test_pooling_size
        for spatial, classes in zip(self.spatial, self.classes):
            x = classes(spatial(x, img_guid), txt_guid, pooling)
        x = x.transpose(1, 2).reshape(batch * t, -1, h, w)
        for up, proj, stage, layer in zip(self.guidance_up, self.guidance_proj, self.decoder,
                                          layers):
            x = stage(x, proj(up(layer)))
        logits = self.cls_conv(x).view(batch, t, *x.shape[-2:])
        if kept is None:
            return logits
        out = logits.new_full((batch, num_classes, *logits.shape[-2:]), PRUNED_LOGIT)
        return out.scatter(1, kept[..., None, None].expand(-1, -1, *logits.shape[-2:]), logits)

    def loss_by_feat(self, seg_logits: torch.Tensor, data_samples: List) -> dict:
        """CAT-Seg's binary cross-entropy against ``gt_sem_seg``.

        Args:
            seg_logits (Tensor): (B, K, H', W') logits, resized here to the labels.
            data_samples (list[SegDataSample]): With ``gt_sem_seg`` (1, H, W).

        Returns:
            dict: ``loss_sem_seg``.
        """
        label = self.labels(data_samples, seg_logits.shape[1])
        logits = F.interpolate(seg_logits, size=label.shape[-2:], mode='bilinear',
                               align_corners=False)
        return dict(loss_sem_seg=self.loss_weight *
                    catseg_bce_loss(logits, label, self.ignore_index))
