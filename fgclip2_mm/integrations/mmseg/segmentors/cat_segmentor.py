"""``FGCLIP2CATSegmentor``: FG-CLIP 2 encoder + a trained cost-aggregation head."""
import copy
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F

from fgclip2_mm.registry import MODELS
from fgclip2_mm.utils.build import build_owned
from .base import FGCLIP2OVSegmentorBase
from .finetune import finetune_qv_attention

FINETUNE_MODES = ('none', 'dense_head', 'attention', 'vision_attention', 'all')


def default_guidance_layers(num_layers: int, num_stages: int) -> tuple:
    """Evenly spaced 0-based encoder layers, the shallower first (stage ``i`` gets entry
    ``i``): (3, 7) for 12 layers and two stages, (7, 15) for 24, CAT-Seg's
    ``layer_indexes`` for ViT-B/16 and ViT-L/14 (``cat_seg_model.py`` l.84)."""
    return tuple(max(round(num_layers * (i + 1) / (num_stages + 1)) - 1, 0)
                 for i in range(num_stages))


@MODELS.register_module()
class FGCLIP2CATSegmentor(FGCLIP2OVSegmentorBase):
    """Trained open-vocabulary segmentation: FG-CLIP 2 dense features, class texts and a
    cost-aggregation head (:class:`FGCLIP2CATSegHead`, CAT-Seg's, in the protocol configs;
    :class:`FGCLIP2CostAggregationHead`, the light one, by default).

    The encoders are frozen or partly fine-tuned (``finetune``). CAT-Seg's recipe,
    ``'attention'``, fine-tunes the query and value projections of every transformer layer
    of *both* towers: the class embeddings are then recomputed with gradients at every
    training step, and the cached test embeddings are dropped after it. Training uses
    ``train_vocabulary`` (or ``vocabulary``); prediction uses ``vocabulary``, which may be
    changed at any time.

    Call graph::

        loss(inputs, data_samples)
          dense_features(inputs, guidance_layers) -> decode_head(dense, class_texts('train'),
          layers) -> decode_head.loss_by_feat(logits, data_samples)
        predict(inputs, data_samples)
          inference (whole | slide | slide_global) -> encode_decode: the same forward with the test
          vocabulary, logits resized to the input -> postprocess_result

    Args:
        decode_head (dict): Head config (``in_dims`` defaults to the model width).
        guidance_layers (Sequence[int], optional): Backbone layers (0-based) feeding the
            head's upsampling stages, stage ``i`` (x 2**(i+1)) getting ``guidance_layers[i]``.
            Defaults to evenly spaced layers, the shallower first: (3, 7) for 12 layers and
            two stages, (7, 15) for 24, as CAT-Seg wires ViT-B/16 and ViT-L
            (``cat_seg_model.py`` l.84: ``layer_indexes``; l.153-157 and
            ``cat_seg_predictor.py`` l.152: block 3 guides the x2 stage, block 7 the x4).
        finetune (str): ``'none'`` (frozen encoders), ``'dense_head'`` (the vision dense
            head), ``'attention'`` (CAT-Seg's ``CLIP_FINETUNE: attention``: the query and value
            projection weights of every attention of both towers, the vision dense head's
            included, everything else frozen; see :mod:`.finetune` for the anchor lines),
            ``'vision_attention'`` (every attention projection of the vision tower + the
            dense head, the earlier light recipe) or ``'all'`` (the vision tower). Defaults
            to ``'none'``.
        train_cfg (dict, optional): Unused; accepted for mmseg config compatibility.
        **kwargs: See :class:`FGCLIP2OVSegmentorBase`.
    """

    def __init__(self,
                 decode_head: dict,
                 guidance_layers: Optional[Sequence[int]] = None,
                 finetune: str = 'none',
                 train_cfg=None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if finetune not in FINETUNE_MODES:
            raise ValueError(f'finetune={finetune!r} is not supported, expected one of '
                             f'{FINETUNE_MODES}')
        self.finetune = finetune
        vit = self.clip.vision_backbone
        head_cfg = dict(type='FGCLIP2CostAggregationHead', in_dims=vit.embed_dims)
        head_cfg.update(copy.deepcopy(decode_head))
        self.decode_head = build_owned(head_cfg, MODELS)
        stages = self.decode_head.num_stages
        if guidance_layers is None:
            guidance_layers = default_guidance_layers(vit.num_layers, stages)
        self.guidance_layers = tuple(int(i) for i in guidance_layers)
        for i in self.guidance_layers:
            if not -vit.num_layers <= i < vit.num_layers:
                raise ValueError(f'guidance layer {i} is out of range for {vit.num_layers} '
                                 'layers')
        if self.decode_head.num_stages != len(self.guidance_layers):
            raise ValueError(f'decode_head has {self.decode_head.num_stages} upsampling stages '
                             f'but guidance_layers has {len(self.guidance_layers)} entries')
        self._set_trainable()

    def _set_trainable(self) -> None:
        self.clip.requires_grad_(False)
        vit = self.clip.vision_backbone
        if self.finetune == 'all':
            vit.requires_grad_(True)
        if self.finetune in ('dense_head', 'vision_attention'):
            vit.dense_head.requires_grad_(True)
        if self.finetune == 'vision_attention':
            for layer in vit.layers:
                layer.attn.requires_grad_(True)
        if self.finetune == 'attention':
            text = self.clip.text_encoder
            finetune_qv_attention([layer.attn for layer in vit.layers] + [vit.dense_head.attn] +
                                  [layer.attn for layer in text.layers])

    @property
    def text_trainable(self) -> bool:
        """Whether the text tower has trainable parameters (embeddings need gradients)."""
        return any(p.requires_grad for p in self.clip.text_encoder.parameters())

    @property
    def score_activation(self) -> str:
        """The head's: ``'sigmoid'`` for CAT-Seg's BCE-trained head."""
        return self.decode_head.score_activation

    def train(self, mode: bool = True) -> 'FGCLIP2CATSegmentor':
        """Set the mode; the text tower (and a frozen vision tower) stay in eval mode."""
        super().train(mode)
        self.clip.text_encoder.eval()
        if self.finetune == 'none':
            self.clip.eval()
        return self

    def class_texts(self, which: str = 'test') -> torch.Tensor:
        """One embedding per class (K, D): the normalised mean of its queries (recomputed
        with gradients while training a fine-tuned text tower)."""
        if which == 'train' and self.training and self.text_trainable:
            embeds, owner = self.embedder(self.clip, self.tokenizer, self.vocabulary('train'),
                                          self.language, cached=False)
        else:
            embeds, owner = self.class_queries(which)
        num = self.vocabulary(which).num_classes
        sums = embeds.new_zeros(num, embeds.shape[1]).index_add_(0, owner, embeds)
        counts = torch.bincount(owner, minlength=num)
        if (counts == 0).any():
            empty = [self.vocabulary(which).names[i] for i in (counts == 0).nonzero()[:, 0]]
            raise ValueError(f'classes {empty} have no text; the trained segmentor needs a '
                             'name for every class')
        return F.normalize(sums, dim=-1)

    def _logits(self, inputs: torch.Tensor, which: str) -> torch.Tensor:
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.encoder_trainable):
            feats = self.dense_features(inputs, self.guidance_layers)
        return self.decode_head(feats['dense'], self.class_texts(which), feats['layers'])

    @property
    def encoder_trainable(self) -> bool:
        """Whether the dense features need gradients (any ``finetune`` but ``'none'``)."""
        return self.finetune != 'none'

    def encode_decode(self, inputs: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
        """Class logits (B, K, H, W) at the size of ``inputs``."""
        logits = self._logits(inputs, 'test')
        return F.interpolate(logits, size=inputs.shape[2:], mode='bilinear',
                             align_corners=self.align_corners)

    def loss(self, inputs: torch.Tensor, data_samples: List) -> dict:
        """The head's loss against ``gt_sem_seg`` (train vocabulary). A fine-tuned text
        tower makes the cached test embeddings stale: they are dropped."""
        losses = self.decode_head.loss_by_feat(self._logits(inputs, 'train'), data_samples)
        if self.text_trainable:
            self._text = dict(train=None, test=None)
        return losses

