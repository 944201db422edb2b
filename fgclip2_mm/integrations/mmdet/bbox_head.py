"""F-ViT-style open-vocabulary box head: ConvFC trunk, text classifier, agnostic regression."""
import copy
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmdet.models.layers import multiclass_nms
from mmdet.models.roi_heads.bbox_heads import ConvFCBBoxHead
from mmdet.structures.bbox import get_box_tensor, scale_boxes
from mmengine.logging import MMLogger
from mmengine.structures import InstanceData

from fgclip2_mm.registry import MODELS
from fgclip2_mm.utils.build import build_owned
from .text_embeddings import LANGUAGES, FGCLIP2TextEmbedder, checkpoint_arch
from .utils import host_scope

ENSEMBLE_KEYS = ('alpha', 'beta', 'temperature', 'background')
#: F-ViT's OV-COCO test-time ensemble (wusize/CLIPSelf
#: F-ViT/configs/ov_coco/fvit_vitb16_upsample_fpn_bs64_3e_ovcoco_eva_original.py:68-70:
#: ``vlm_temperature=75.0, alpha=0.1, beta=0.8``; its OV-LVIS configs use temperature 50,
#: beta 0.6 (B) / 0.4 (L)). ``background``: the region softmax runs over the classes *and*
#: the background embedding, and the background probability is ensembled with ``alpha``
#: like a base class (F-ViT/models/fvit_head.py:38-44, 113-119: 'background' is appended
#: to the seen classes and to the embeddings); False: softmax over the C classes only, the
#: background probability is the classifier's.
DEFAULT_ENSEMBLE = dict(alpha=0.1, beta=0.8, temperature=75.0, background=True)
#: The word embedded as the background with ``background='text'`` (F-ViT embeds
#: 'background' with the class prompts, F-ViT/tools/dump_coco_openclip_feature.py:20).
BACKGROUND_NAMES = dict(en='background', zh='背景')


@MODELS.register_module()
class FGCLIP2OVBBoxHead(ConvFCBBoxHead):
    """Open-vocabulary box head (F-ViT design) on FG-CLIP 2 text embeddings.

    * classification: :class:`FGCLIP2TextClassifier` (cosine to the class embeddings of the
      current vocabulary + a background embedding, learned temperature); classes outside the
      training split (``base_classes``) are masked out of the training softmax and their
      targets get zero weight (counted in the log), so novel classes are never supervised;
    * regression: class-agnostic (``reg_class_agnostic`` is forced to True);
    * test-time ensemble (:meth:`class_probs`): with region embeddings from the FG-CLIP 2
      dense map, ``p_c = cls_c^(1 - a) * vlm_c^a`` with a = ``alpha`` for base classes and
      ``beta`` for the others, ``vlm = softmax(temperature * cos(region, class texts))``
      over the C classes and the background (``ensemble.background``, F-ViT) or over the
      C classes only.

    Args:
        classifier (dict, optional): Extra arguments of :class:`FGCLIP2TextClassifier`;
            ``embed_dims`` (the text width) defaults to the one of
            ``text_embeddings.checkpoint``. Defaults to None.
        text_embeddings (dict, optional): Arguments of :class:`FGCLIP2TextEmbedder`
            (``checkpoint``, ``tokenizer``, ``templates``, ``cache_dir``); needed by
            :meth:`set_vocabulary` with names (not with raw embeddings).
        vocabulary (dict, optional): ``classes`` (+ ``classes_zh``, ``base_classes``) to set
            at build time; usually left None and set by ``FGCLIP2VocabularyHook`` from the
            dataset metainfo.
        language (str): ``'en'``, ``'zh'``, ``'en+zh'`` or ``'auto'``. Defaults to ``'en'``.
        ensemble (dict, optional): ``alpha`` (base), ``beta`` (novel), ``temperature`` of the
            region score and ``background`` (see :data:`DEFAULT_ENSEMBLE`); missing keys
            take F-ViT's OV-COCO values :data:`DEFAULT_ENSEMBLE`; None disables the
            ensemble.
        bg_loss_weight (float): Weight of background RoIs in the classification loss
            (F-ViT: 0.6 on OV-COCO, 0.9 on OV-LVIS). Defaults to 1.0.
        background (str): ``'text'``: the background is the fixed text embedding of
            ``background_names`` in the vocabulary's language, with the same templates
            (F-ViT, ``learn_bg=False``); ``'learned'``: a trained embedding. Defaults to
            ``'text'``.
        background_names (dict, optional): ``en`` / ``zh`` words for ``'text'``. Defaults
            to :data:`BACKGROUND_NAMES`.
        **kwargs: :class:`mmdet.models.roi_heads.bbox_heads.ConvFCBBoxHead` arguments.
    """

    def __init__(self,
                 classifier: Optional[dict] = None,
                 text_embeddings: Optional[dict] = None,
                 vocabulary: Optional[dict] = None,
                 language: str = 'en',
                 ensemble: Optional[dict] = DEFAULT_ENSEMBLE,
                 bg_loss_weight: float = 1.0,
                 background: str = 'text',
                 background_names: Optional[dict] = None,
                 **kwargs) -> None:
        kwargs = copy.deepcopy(kwargs)
        if kwargs.get('reg_class_agnostic') is False:
            raise ValueError('FGCLIP2OVBBoxHead regresses class-agnostic boxes (the vocabulary '
                             'changes); do not set reg_class_agnostic=False')
        kwargs.update(reg_class_agnostic=True, with_cls=True)
        with host_scope():
            super().__init__(**kwargs)
        classifier = dict(copy.deepcopy(classifier or {}), type='FGCLIP2TextClassifier')
        if 'background' in classifier:
            raise ValueError('set background on the box head (background=...), not in '
                             'classifier: the head encodes the background text')
        classifier['background'] = background
        self.background_names = dict(BACKGROUND_NAMES, **(background_names or {}))
        if 'embed_dims' not in classifier:
            if not (text_embeddings or {}).get('checkpoint'):
                raise ValueError('give classifier.embed_dims (the FG-CLIP 2 text width) or '
                                 'text_embeddings.checkpoint (it is read from there)')
            arch = checkpoint_arch(text_embeddings['checkpoint'])
            classifier['embed_dims'] = arch['text']['proj_dims']
        self.fc_cls = build_owned(classifier, MODELS, in_features=self.cls_last_dim)
        if language not in LANGUAGES:
            raise ValueError(f'language={language!r} is not supported, expected one of '
                             f'{LANGUAGES}')
        self.language = language
        self.text_embeddings = copy.deepcopy(text_embeddings)
        self._embedder = None
        if ensemble is not None:
            unknown = sorted(set(ensemble) - set(ENSEMBLE_KEYS))
            if unknown or not all(0 <= ensemble.get(k, 0) <= 1 for k in ('alpha', 'beta')) \
                    or ensemble.get('temperature', 1) <= 0:
                raise ValueError(f'ensemble takes {ENSEMBLE_KEYS} with alpha, beta in [0, 1] '
                                 f'and temperature > 0, got {ensemble}')
            ensemble = dict(DEFAULT_ENSEMBLE, **ensemble)
        self.ensemble = ensemble
        if bg_loss_weight < 0:
            raise ValueError(f'bg_loss_weight must be >= 0, got {bg_loss_weight}')
        self.bg_loss_weight = float(bg_loss_weight)
        self.classes: List[str] = []
        self.base_classes: Optional[List[str]] = None
        self.register_buffer('is_base', torch.zeros(0, dtype=torch.bool), persistent=False)
        vocabulary = copy.deepcopy(vocabulary or {})
        if vocabulary.get('base_classes') is not None:
            self.base_classes = list(vocabulary['base_classes'])
        if vocabulary.get('classes') is not None:
            self.set_vocabulary(**vocabulary)

    # ---------------------------------------------------------------------- vocabulary
    @property
    def embedder(self) -> FGCLIP2TextEmbedder:
        if self._embedder is None:
            if not self.text_embeddings:
                raise ValueError('set_vocabulary() with class names needs text_embeddings='
                                 'dict(checkpoint=<FG-CLIP 2 folder>, ...) in the box head')
            self._embedder = FGCLIP2TextEmbedder(**self.text_embeddings)
        return self._embedder

    def set_vocabulary(self,
                       classes: Sequence[str],
                       classes_zh: Optional[Sequence[str]] = None,
                       base_classes: Optional[Sequence[str]] = None,
                       language: Optional[str] = None,
                       embeds: Optional[torch.Tensor] = None) -> None:
        """Use a new vocabulary (class embeddings computed, or read from the disk cache).

        Args:
            classes (Sequence[str]): Class names, in label order.
            classes_zh (Sequence[str], optional): Chinese names (languages ``'zh'``,
                ``'en+zh'``).
            base_classes (Sequence[str], optional): The classes seen in training (the
                others are novel: masked while training, weighted with ``beta`` at test).
                Defaults to the last base split given (at build or before); without any,
                every class counts as base.
            language (str, optional): Overrides the head's language for this vocabulary.
            embeds (Tensor, optional): (C, D) embeddings to use instead of encoding the
                names (e.g. random ones for an ablation); with ``background='text'`` the
                background word is still encoded.
        """
        classes = [str(c) for c in classes]
        if base_classes is not None:
            self.base_classes = [str(c) for c in base_classes]
        if embeds is None:
            embeds = self.embedder.encode(classes, language or self.language, classes_zh)
        elif embeds.shape[0] != len(classes):
            raise ValueError(f'got {embeds.shape[0]} embeddings for {len(classes)} classes')
        base = set(self.base_classes) if self.base_classes is not None else set(classes)
        is_base = torch.tensor([c in base for c in classes], dtype=torch.bool)
        background = None
        if self.fc_cls.background == 'text':
            background = self.background_embedding(language or self.language)
        self.fc_cls.set_class_embeddings(embeds, trainable=is_base, background=background)
        self.is_base = is_base.to(self.fc_cls.class_embeds.device)
        self.classes = classes
        self.num_classes = len(classes)

    def background_embedding(self, language: str) -> torch.Tensor:
        """(D,) text embedding of the background word(s) in ``language`` (``'auto'``: the
        English word), encoded like a class name."""
        if not self.text_embeddings:
            raise ValueError("background='text' encodes the background word: give the box "
                             "head text_embeddings=dict(checkpoint=...), or background="
                             "'learned'")
        en, zh = self.background_names['en'], self.background_names['zh']
        if language == 'zh':
            return self.embedder.encode([zh], 'zh', [zh])[0]
        return self.embedder.encode([en], language, [zh])[0]

    # ---------------------------------------------------------------------------- loss
    def loss_and_target(self, cls_score, bbox_pred, rois, sampling_results, rcnn_train_cfg,
                        concat: bool = True, reduction_override=None) -> dict:
        """mmdet's loss, after zeroing the weights of RoIs whose target is a novel class and
        scaling those of background RoIs by ``bg_loss_weight``."""
        labels, label_weights, bbox_targets, bbox_weights = self.get_targets(
            sampling_results, rcnn_train_cfg, concat=concat)
        fg = labels < self.num_classes
        novel = fg.clone()
        novel[fg] = ~self.is_base[labels[fg]]
        num_novel = int(novel.sum())
        if num_novel:
            label_weights = label_weights.masked_fill(novel, 0)
            bbox_weights = bbox_weights.masked_fill(novel[:, None], 0)
            labels = labels.masked_fill(novel, self.num_classes)  # never a positive target
            MMLogger.get_current_instance().warning(
                f'{num_novel} RoIs matched boxes of classes outside base_classes; they get '
                'zero loss weight (novel classes are never supervised)')
        if self.bg_loss_weight != 1.0:
            bg = labels == self.num_classes
            label_weights = torch.where(bg, label_weights * self.bg_loss_weight, label_weights)
        targets = (labels, label_weights, bbox_targets, bbox_weights)
        losses = self.loss(cls_score, bbox_pred, rois, *targets,
                           reduction_override=reduction_override)
        return dict(loss_bbox=losses, bbox_targets=targets)

    # ------------------------------------------------------------------------- predict
    def class_probs(self, cls_score: torch.Tensor,
                    region_embeds: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Test-time class probabilities (N, C + 1), ensembled with the region score.

        Args:
            cls_score (Tensor): Classifier logits (N, C + 1).
            region_embeds (Tensor, optional): (N, D) FG-CLIP 2 region embeddings of the same
                RoIs; without them (or without ``ensemble``) the softmax is returned.
        """
        probs = cls_score.float().softmax(-1)
        if region_embeds is None or self.ensemble is None:
            return probs
        with_bg = bool(self.ensemble['background'])
        texts = self.fc_cls.weights() if with_bg else self.fc_cls.class_embeds
        cos = F.normalize(region_embeds.float(), dim=-1) @ texts.float().t()
        vlm = (cos * self.ensemble['temperature']).softmax(-1)  # (N, C + 1) or (N, C)
        alpha, beta = self.ensemble['alpha'], self.ensemble['beta']
        weight = torch.where(self.is_base, alpha, beta)
        fg = probs[:, :-1].pow(1 - weight) * vlm[:, :self.num_classes].pow(weight)
        bg = probs[:, -1:]
        if with_bg:  # F-ViT counts the background as a seen class (fvit_head.py:38-44)
            bg = bg.pow(1 - alpha) * vlm[:, -1:].pow(alpha)
        return torch.cat([fg, bg], dim=1)

    def _predict_by_feat_single(self,
                                roi: torch.Tensor,
                                cls_score: torch.Tensor,
                                bbox_pred: torch.Tensor,
                                img_meta: dict,
                                rescale: bool = False,
                                rcnn_test_cfg=None) -> InstanceData:
        """Boxes of one image. Unlike mmdet's, ``cls_score`` holds *probabilities* (N, C + 1)
        from :meth:`class_probs` (the RoI head calls it), not logits."""
        results = InstanceData()
        if roi.shape[0] == 0:
            results.bboxes = roi.new_zeros(0, 4)
            results.scores = roi.new_zeros(0)
            results.labels = roi.new_zeros(0, dtype=torch.long)
            return results
        bboxes = self.bbox_coder.decode(roi[:, 1:], bbox_pred, max_shape=img_meta['img_shape'])
        if rescale and bboxes.size(0) > 0:
            bboxes = scale_boxes(bboxes, [1 / s for s in img_meta['scale_factor']])
        bboxes = get_box_tensor(bboxes)
        if rcnn_test_cfg is None:  # raw per-RoI results (test-time augmentation)
            results.bboxes, results.scores = bboxes, cls_score
            return results
        dets, labels = multiclass_nms(bboxes, cls_score, rcnn_test_cfg.score_thr,
                                      rcnn_test_cfg.nms, rcnn_test_cfg.max_per_img)
        results.bboxes = dets[:, :-1]
        results.scores = dets[:, -1]
        results.labels = labels
        return results
