"""FG-CLIP 2 as an mmengine ``BaseModel``."""
import copy
import math
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from torch import nn

from fgclip2_mm.registry import MODELS
from fgclip2_mm.structures import batch_keys
from fgclip2_mm.utils.build import build_owned, owned_scope
from ..utils.arch_zoo import get_arch
from ..losses import (FGCLIP2HardNegativeLoss, FGCLIP2RegionContrastiveLoss,
                      FGCLIP2SigmoidLoss, FGCLIP2TICLoss)
from ..utils.region_features import (boxes_to_grid, normalized_boxes_to_grid, pad_boxes,
                                     roi_align_1x1)
from .train_features import pretrain_features

MODES = ('tensor', 'loss', 'predict')
# The batch keys (shared with packing and the preprocessor): inputs key -> (walk, output
# key) for the text families, and the slot masks that only the training losses read.
TEXT_INPUTS = batch_keys.MODEL_TEXT_INPUTS
MASK_KEYS = batch_keys.MODEL_MASK_KEYS
REGION_LOG_SCALE = math.log(100.0)  # 4.6052, the reference's init of both extra scales
#: ``losses`` keys with a fixed role and call signature -> the loss class expected there.
LOSS_ROLES = {
    'sigmoid': FGCLIP2SigmoidLoss,
    'region': FGCLIP2RegionContrastiveLoss,
    'tic': FGCLIP2TICLoss,
    'hard_negative': FGCLIP2HardNegativeLoss
}


@MODELS.register_module()
class FGCLIP2(BaseModel):
    """FG-CLIP 2 dual encoder (arXiv 2510.10921) with the official inference surface.

    Call graph::

        forward(inputs, data_samples, mode)
          'tensor'  -> extract_feat(inputs) -> dict of embeddings
          'loss'    -> loss(): pretrain_features(inputs) -> every module of ``losses``
          'predict' -> predict(inputs, data_samples):
                       zero-shot batch (samples with an ``eval_task`` metainfo)
                         -> zero_shot_head.predict(self, inputs, data_samples)
                       otherwise -> extract_feat(inputs) -> embeddings in the data samples
        extract_feat: vision_backbone.forward_tokens -> head / dense_head (+ roi_align_1x1)
                      text_encoder(ids, walk) for every text family present

    ``inputs`` (a dict, as produced by the data preprocessor) may hold: ``pixel_values``
    (B, N, 3*p*p), ``pixel_attention_mask`` (B, N), ``spatial_shapes`` (B, 2) -> output
    ``image_embeds`` (B, D); ``input_ids`` (short walk; with the optional
    ``attention_mask``, see :class:`FGCLIP2TextEncoder`) -> ``text_embeds``;
    ``long_input_ids`` (long walk) -> ``long_text_embeds``; ``box_input_ids`` (box walk)
    -> ``box_text_embeds``; ``hardneg_input_ids`` (box walk, any leading shape such as
    (B, K, 11, L)) -> ``hardneg_text_embeds``; ``region_boxes`` (B, K, 4) xyxy normalised
    to [0, 1] -> ``region_features`` (B, K, D) (RoIAlign on the dense features). The
    training masks ``region_valid`` / ``hard_valid`` (B, K) and ``long_valid`` (B,) are
    read by :meth:`loss` only. Embeddings are not normalised.

    Losses (``losses`` dict; a ``None`` entry disables that term, e.g. from
    ``--cfg-options model.losses.tic=None``). Four keys have a fixed role and signature:

    - ``'sigmoid'``: ``(image, short text, logit_scale, logit_bias, long text, long_valid)``
      -- the global SigLIP loss (spec 3.2);
    - ``'region'``: ``(valid region features, their region-text embeddings,
      logit_scale_region)`` -- L_FGV (3.3);
    - ``'tic'``: ``(region-text embeddings)`` -- L_TIC (3.4);
    - ``'hard_negative'``: ``(valid hard-slot features, their (m, 11, D) texts,
      logit_scale_hardneg)`` -- L_FGT + L_CMR (3.5).

    Any other key is a custom loss called as ``loss(feats, data_samples)`` with the
    embeddings of :func:`pretrain_features` plus the four logit parameters. Gating is
    explicit (no try/except, unlike the reference, spec 3.7 #1-2): every configured loss
    runs on every rank at every step, so collectives never desynchronise; a batch without
    valid regions (e.g. Chinese pairs) gives empty selections and the loss modules return
    graph-connected zeros, logged as ``num_regions = 0`` / ``num_hard_boxes = 0``.

    Args:
        arch (str | dict): Default size for towers built from ``None`` configs.
            Defaults to ``'base'``.
        vision_backbone (dict, optional): Config of the vision tower. Defaults to
            ``dict(type='FGCLIP2VisionTransformer', arch=arch)``.
        text_encoder (dict, optional): Config of the text tower. Defaults to
            ``dict(type='FGCLIP2TextEncoder', arch=arch)``.
        losses (dict, optional): ``{name: loss config or None}`` (see above). Defaults to
            None (``'loss'`` mode then raises).
        logit_scale_init (float): Initial log-scale t (SigLIP: ln 10). Defaults to ln 10.
        logit_bias_init (float): Initial bias b (SigLIP: -10). Defaults to -10.
        region_logit_scale_init (float): Initial ``logit_scale_region`` and
            ``logit_scale_hardneg`` (ln 100). Defaults to 4.6052.
        frozen_params (Sequence[str]): Parameter-name prefixes to freeze, e.g. the dense
            and box heads in stage 1, where no loss uses them (with
            ``find_unused_parameters=False`` DDP needs every trainable parameter in the
            graph). Each prefix must match a parameter. Defaults to ().
        data_preprocessor (dict | nn.Module, optional): Data preprocessor (config).
            Defaults to ``dict(type='FGCLIP2DataPreprocessor')``.
        init_cfg (dict | list[dict], optional): mmengine init config, e.g.
            ``dict(type='Pretrained', checkpoint=FOLDER)`` for any checkpoint folder (ours,
            official FG-CLIP 2, SigLIP 2 NaFlex; read by
            :mod:`~fgclip2_mm.models.utils.checkpoint_folder`), which mmengine applies
            after every other entry. Defaults to None.
    """

    #: The zero-shot predict path (:class:`fgclip2_mm.evaluation.FGCLIP2ZeroShotHead`),
    #: attached by the evaluation loop (``fgclip2_mm.evaluation.run_zero_shot_tasks``).
    zero_shot_head = None

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 vision_backbone: Optional[dict] = None,
                 text_encoder: Optional[dict] = None,
                 losses: Optional[dict] = None,
                 logit_scale_init: float = math.log(10.0),
                 logit_bias_init: float = -10.0,
                 region_logit_scale_init: float = REGION_LOG_SCALE,
                 frozen_params: Sequence[str] = (),
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='FGCLIP2DataPreprocessor')
        # Built here, in our scope: BaseModel would resolve a bare type in the host's scope.
        super().__init__(
            data_preprocessor=build_owned(data_preprocessor, MODELS),
            init_cfg=copy.deepcopy(init_cfg))
        if vision_backbone is None:
            vision_backbone = dict(type='FGCLIP2VisionTransformer', arch=get_arch(arch)['vision'])
        if text_encoder is None:
            text_encoder = dict(type='FGCLIP2TextEncoder', arch=get_arch(arch)['text'])
        self.vision_backbone = build_owned(vision_backbone, MODELS)
        self.text_encoder = build_owned(text_encoder, MODELS)
        self.logit_scale = nn.Parameter(torch.full((1, ), float(logit_scale_init)))
        self.logit_bias = nn.Parameter(torch.full((1, ), float(logit_bias_init)))
        self.logit_scale_region = nn.Parameter(torch.tensor(float(region_logit_scale_init)))
        self.logit_scale_hardneg = nn.Parameter(torch.tensor(float(region_logit_scale_init)))
        self.losses = self._build_losses(losses)
        self.frozen_params = tuple(frozen_params)
        self._freeze_params()

    @staticmethod
    def _build_losses(losses: Optional[dict]) -> nn.ModuleDict:
        if losses is not None and not isinstance(losses, dict):
            raise ValueError(f'losses must be a dict of loss configs, got {type(losses)}')
        built = nn.ModuleDict()
        for name, cfg in (losses or {}).items():
            if cfg is None:
                continue
            module = build_owned(cfg, MODELS)
            for role, cls in LOSS_ROLES.items():
                if isinstance(module, cls) and name != role:
                    raise ValueError(f'loss {name!r} is a {cls.__name__}: put it under the key '
                                     f'{role!r} (role keys: {tuple(LOSS_ROLES)})')
            built[name] = module
        return built

    def _freeze_params(self) -> None:
        names = [name for name, _ in self.named_parameters()]
        for prefix in self.frozen_params:
            matched = [name for name in names if name.startswith(prefix)]
            if not matched:
                raise ValueError(f'frozen_params entry {prefix!r} matches no parameter; names '
                                 f'start with {sorted({n.split(".")[0] for n in names})}')
        for name, param in self.named_parameters():
            if name.startswith(self.frozen_params):
                param.requires_grad_(False)

    def init_weights(self) -> None:
        """mmengine's initialisation (``Pretrained`` entries last), with bare initializer
        names resolved in our scope whatever the host's default scope is (ours, e.g.
        ``FGCLIP2SelfSimilarDenseInit``, first; mmengine's through the parent registry)."""
        with owned_scope():
            super().init_weights()

    def arch_dict(self) -> dict:
        """The complete arch dict ``dict(vision=..., text=...)`` of the built towers."""
        return copy.deepcopy(dict(vision=self.vision_backbone.arch, text=self.text_encoder.arch))

    # -------------------------------------------------------------- official inference API
    def get_image_features(self,
                           pixel_values: torch.Tensor,
                           pixel_attention_mask: Optional[torch.Tensor] = None,
                           spatial_shapes: Optional[torch.Tensor] = None) -> torch.Tensor:
        """MAP-head image embeddings (B, D), not normalised (inputs as in
        :meth:`FGCLIP2VisionTransformer.forward_tokens`)."""
        feats = self.vision_backbone.forward_tokens(pixel_values, pixel_attention_mask,
                                                    spatial_shapes)
        return self.vision_backbone.head(feats['tokens'], feats['key_mask'])

    def get_text_features(self,
                          input_ids: torch.Tensor,
                          walk_type: str = 'short',
                          attention_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Text embeddings (B, D) of ``walk_type`` (``'short'``, ``'box'``, ``'long'``);
        see :class:`FGCLIP2TextEncoder` for lengths and the attention-mask caveat."""
        return self.text_encoder(input_ids, walk_type, attention_mask)

    def get_image_dense_feature(self,
                                pixel_values: torch.Tensor,
                                pixel_attention_mask: Optional[torch.Tensor] = None,
                                spatial_shapes: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Dense features (B, N, D); only the first h*w rows of each image are meaningful
        (row-major (h, w) grid)."""
        feats = self.vision_backbone.forward_tokens(pixel_values, pixel_attention_mask,
                                                    spatial_shapes)
        return self.vision_backbone.dense_head(feats['tokens'], feats['key_mask'], dense=True)

    def get_image_region_features(self, pixel_values: torch.Tensor,
                                  pixel_attention_mask: Optional[torch.Tensor],
                                  spatial_shapes: torch.Tensor, image_sizes,
                                  region_infos: List) -> List[torch.Tensor]:
        """Region features as the official HF model: RoIAlign 1x1 (aligned, adaptive
        sampling) on the dense features; not normalised.

        Args:
            pixel_values, pixel_attention_mask, spatial_shapes: As for
                :meth:`get_image_features`.
            image_sizes (Tensor | list): (B, 2) *original* image (height, width) in pixels.
            region_infos (list[Tensor | list]): Per image, (K_i, 4) absolute-pixel boxes
                ``x1, y1, x2, y2`` of the original image.

        Returns:
            list[Tensor]: Per image (K_i, D) fp32 features.
        """
        if len(region_infos) != pixel_values.shape[0]:
            raise ValueError(f'region_infos has {len(region_infos)} entries for '
                             f'{pixel_values.shape[0]} images')
        dense = self.get_image_dense_feature(pixel_values, pixel_attention_mask, spatial_shapes)
        boxes, counts = pad_boxes(region_infos, dense.device)
        sizes = torch.as_tensor(image_sizes, device=dense.device).reshape(-1, 2)
        grid = boxes_to_grid(boxes, sizes, spatial_shapes)
        feats = roi_align_1x1(dense, spatial_shapes, grid)  # (B, K_max, D)
        keep = torch.arange(boxes.shape[1])[None] < torch.tensor(counts)[:, None]
        flat = feats.flatten(0, 1)[keep.flatten().nonzero()[:, 0].to(feats.device)]
        return list(flat.split(counts))

    def calibrated_logits(self, image_embeds: torch.Tensor,
                          text_embeds: torch.Tensor) -> torch.Tensor:
        """``exp(logit_scale) * cos(image, text) + logit_bias``, shape (B_img, B_txt);
        ``sigmoid`` of it is the match probability."""
        cos = F.normalize(image_embeds, dim=-1) @ F.normalize(text_embeds, dim=-1).t()
        return cos * self.logit_scale.exp() + self.logit_bias

    # ----------------------------------------------------------------- mmengine interface
    def extract_feat(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Encode every image / text family present in ``inputs`` (see class docstring).

        The vision tower runs once; the pooled and dense heads share its tokens.
        """
        if not isinstance(inputs, dict):
            raise ValueError(f'FGCLIP2 expects a dict of input tensors, got {type(inputs)}')
        known = set(batch_keys.MODEL_INPUT_KEYS)
        unknown = sorted(set(inputs) - known)
        if unknown:
            raise ValueError(f'unknown input keys {unknown}; expected some of {sorted(known)}')
        feats = {}
        if 'pixel_values' in inputs:
            vis = self.vision_backbone.forward_tokens(inputs['pixel_values'],
                                                      inputs.get('pixel_attention_mask'),
                                                      inputs.get('spatial_shapes'))
            feats['image_embeds'] = self.vision_backbone.head(vis['tokens'], vis['key_mask'])
            if batch_keys.REGION_BOXES in inputs:
                dense = self.vision_backbone.dense_head(vis['tokens'], vis['key_mask'],
                                                        dense=True)
                grid = normalized_boxes_to_grid(inputs[batch_keys.REGION_BOXES].float(),
                                                vis['spatial_shapes'])
                feats['region_features'] = roi_align_1x1(dense, vis['spatial_shapes'], grid)
        elif batch_keys.REGION_BOXES in inputs:
            raise ValueError('region_boxes needs pixel_values')
        for key, (walk, out_key) in TEXT_INPUTS.items():
            if key in inputs:
                mask = inputs.get('attention_mask') if key == 'input_ids' else None
                feats[out_key] = self.text_encoder(inputs[key], walk, mask)
        feats.update(
            logit_scale=self.logit_scale,
            logit_bias=self.logit_bias,
            logit_scale_region=self.logit_scale_region,
            logit_scale_hardneg=self.logit_scale_hardneg)
        return feats

    def forward(self,
                inputs: Dict[str, torch.Tensor],
                data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        """mmengine entry point.

        Args:
            inputs (dict[str, Tensor]): See the class docstring.
            data_samples (list, optional): Data samples of the batch.
            mode (str): ``'tensor'`` (dict of embeddings), ``'loss'`` (dict of losses) or
                ``'predict'`` (data samples carrying the embeddings).
        """
        if mode not in MODES:
            raise ValueError(f'mode={mode!r} is not supported, expected one of {MODES}')
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        feats = self.extract_feat(inputs)
        return {k: v for k, v in feats.items() if not k.startswith('logit_')}

    def predict(self, inputs: Dict[str, torch.Tensor],
                data_samples: Optional[list] = None) -> list:
        """``forward(mode='predict')``, the path of ``test_step`` / ``val_step``.

        A zero-shot batch (data samples of the fgclip2_mm evaluation datasets, which carry
        an ``eval_task`` metainfo) is predicted by :attr:`zero_shot_head` (box or image
        class scores, FG-OVD text scores, retrieval embeddings; see
        :class:`fgclip2_mm.evaluation.FGCLIP2ZeroShotHead`), inside this forward, so a DDP
        or FSDP wrapper sees every tower call. Any other batch gets the embeddings of
        :meth:`extract_feat` stored in its data samples (:meth:`predict_samples`).

        Args:
            inputs (dict[str, Tensor]): Data-preprocessor output (see the class docstring).
            data_samples (list, optional): Data samples of the batch.

        Returns:
            list: The data samples with their predictions.
        """
        if data_samples and any('eval_task' in s.metainfo for s in data_samples):
            if self.zero_shot_head is None:
                raise ValueError('a zero-shot batch (eval_task in the data samples) needs '
                                 'FGCLIP2.zero_shot_head: evaluate with FGCLIP2TestLoop / '
                                 'FGCLIP2ValLoop or fgclip2_mm.evaluation.evaluate_zero_shot')
            return self.zero_shot_head.predict(self, inputs, data_samples)
        feats = self.extract_feat(inputs)
        embeds = {k: v for k, v in feats.items() if not k.startswith('logit_')}
        return self.predict_samples(embeds, data_samples)

    def loss(self, inputs: Dict[str, torch.Tensor], data_samples: Optional[list] = None) -> dict:
        """Pretraining losses of one batch (see the class docstring for the roles).

        Args:
            inputs (dict[str, Tensor]): Preprocessor output (see
                :func:`~fgclip2_mm.models.vlms.train_features.pretrain_features`).
            data_samples (list, optional): Passed to custom losses only.

        Returns:
            dict[str, Tensor]: ``loss_*`` terms (weighted, summed by ``parse_losses``) and
            detached diagnostics without "loss" in their names.
        """
        if not self.losses:
            raise ValueError('FGCLIP2 has no losses: set model.losses, a dict of loss '
                             'configs, e.g. losses=dict(sigmoid=dict(type=...)), to train')
        if not isinstance(inputs, dict):
            raise ValueError(f'FGCLIP2 expects a dict of input tensors, got {type(inputs)}')
        feats = pretrain_features(self, inputs,
                                  regions='region' in self.losses or 'tic' in self.losses,
                                  hard='hard_negative' in self.losses)
        out = {}
        for name, module in self.losses.items():
            terms = self._call_loss(name, module, feats, inputs, data_samples)
            clash = sorted(set(terms) & set(out))
            if clash:
                raise ValueError(f'loss {name!r} returns keys {clash} already returned by '
                                 'another loss')
            out.update(terms)
        return out

    def _call_loss(self, name: str, module: nn.Module, feats: dict, inputs: dict,
                   data_samples: Optional[list]) -> dict:
        """Call one loss module with its explicit tensors (custom losses get ``feats``)."""
        if name == 'sigmoid':
            long = feats.get('long_text_embeds')
            valid = inputs.get('long_valid') if long is not None else None
            return module(feats['image_embeds'], feats['text_embeds'], self.logit_scale,
                          self.logit_bias, long_text_embeds=long,
                          long_text_valid=None if valid is None else valid.to(torch.bool))
        if name == 'region':
            return module(feats['region_embeds'], feats['region_text_embeds'],
                          self.logit_scale_region)
        if name == 'tic':
            return module(feats['region_text_embeds'])
        if name == 'hard_negative':
            return module(feats['hard_region_embeds'], feats['hard_text_embeds'],
                          self.logit_scale_hardneg)
        return module(
            dict(feats, logit_scale=self.logit_scale, logit_bias=self.logit_bias,
                 logit_scale_region=self.logit_scale_region,
                 logit_scale_hardneg=self.logit_scale_hardneg), data_samples)

    @staticmethod
    def predict_samples(embeds: Dict[str, torch.Tensor], data_samples: Optional[list]) -> list:
        """Store each sample's row of every embedding in its data sample (created when
        ``data_samples`` is None)."""
        num = max((v.shape[0] for v in embeds.values()), default=0)
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(num)]
        for key, value in embeds.items():
            if value.shape[0] != len(data_samples):
                raise ValueError(f'{key} has {value.shape[0]} rows for {len(data_samples)} '
                                 'data samples')
            for sample, row in zip(data_samples, value.detach().unbind(0)):
                sample.set_field(row, key)
        return data_samples
