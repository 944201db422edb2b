"""Shared machinery of the FG-CLIP 2 open-vocabulary segmentors (mmseg ``BaseSegmentor``)."""
import copy
import os
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.segmentors import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.registry import MODELS as MMSEG_MODELS
from mmseg.structures import SegDataSample

from fgclip2_mm.registry import MODELS
from fgclip2_mm.utils.build import build_owned
from ..text_embeddings import ClassTextEmbedder
from ..utils import build_host, check_patch_budget, naflex_grid, resize_to_grid
from ..vocabulary import LANGUAGES, ClassVocabulary, resolve_vocabulary
from .sliding import average_windows, window_boxes

TEST_MODES = ('whole', 'slide', 'slide_global')
SCORE_ACTIVATIONS = ('softmax', 'sigmoid')
VOCAB_KEYS = ('train', 'test')
#: SigLIP normalisation (pixels to [-1, 1]) on mmseg's BGR uint8 images.
DEFAULT_PREPROCESSOR = dict(
    type='SegDataPreProcessor', mean=[127.5] * 3, std=[127.5] * 3, bgr_to_rgb=True,
    pad_val=0, seg_pad_val=255)
EMPTY_CLASS_LOGIT = -1e4  # classes without any text query


def build_clip(clip: Union[str, dict, torch.nn.Module]) -> torch.nn.Module:
    """An :class:`FGCLIP2` from a checkpoint folder (:func:`load_fgclip2`), a config dict
    (random initialisation, e.g. ``dict(type='FGCLIP2', arch='tiny')``) or a module."""
    if isinstance(clip, (str, os.PathLike)):
        from fgclip2_mm.apis import load_fgclip2
        return load_fgclip2(os.fspath(clip))
    if isinstance(clip, dict):
        import fgclip2_mm.models  # noqa: F401  (registration)
        cfg = dict(type='FGCLIP2')
        cfg.update(copy.deepcopy(clip))
        return build_owned(cfg, MODELS)
    if isinstance(clip, torch.nn.Module):
        return clip
    raise ValueError(f'clip must be a checkpoint folder, a config dict or a module, got '
                     f'{type(clip).__name__}')


class FGCLIP2OVSegmentorBase(BaseSegmentor):
    """Vocabulary, NaFlex dense features, whole / sliding inference and background-aware
    post-processing shared by the FG-CLIP 2 segmentors.

    Subclasses implement :meth:`encode_decode` (class logits at the input size) and
    :meth:`loss`.

    Args:
        clip (str | dict | nn.Module): FG-CLIP 2 model: a :func:`load_fgclip2` folder, an
            ``FGCLIP2`` config (random weights) or a module.
        tokenizer (str, optional): Tokenizer folder; defaults to ``clip`` when it is a
            folder (checkpoint folders hold the tokenizer files).
        vocabulary: Classes to segment (see :mod:`..vocabulary`); may be set later with
            :meth:`set_vocabulary`. Output channel ``c`` is class ``c``.
        train_vocabulary (optional): Classes of the training data, when they differ from
            ``vocabulary`` (e.g. train on COCO-Stuff, validate on another dataset).
        language (str): ``'en'``, ``'zh'`` or ``'en+zh'``. Defaults to ``'en'``.
        templates (dict, optional): ``{'en': spec, 'zh': spec}`` prompt templates.
        walk_type (str): Text walk used for the classes. Defaults to ``'box'`` (aligned with
            the dense features by FG-CLIP 2's region loss).
        prob_thd (float): Background threshold: pixels whose highest class probability is
            below it go to ``bg_idx`` (0 disables it). Defaults to 0.
        bg_idx (int): Background class index for ``prob_thd``. Defaults to 0.
        class_to_label (Sequence[int], optional): Label written for each prediction class
            (applied after the argmax), e.g. CAT-Seg's PAS-20b: VOC classes 0..19 -> labels
            1..20 and the 39 added PASCAL-Context classes -> background 0. Must have one
            entry per class of the prediction vocabulary. Defaults to None (label = class).
        patch_budget (int | str): NaFlex patch budget per image or window: an int,
            ``'dynamic'`` (FG-CLIP 2 buckets) or ``'native'`` (~1 patch per 16 px).
            Defaults to ``'dynamic'``.
        max_num_patches (int): Cap of the budget. Defaults to 4096.
        cache_dir (str | bool, optional): Text-embedding cache (None: default folder,
            False: memory only).
        test_cfg (dict, optional): ``dict(mode='whole')``, ``dict(mode='slide',
            crop_size=(h, w), stride=(h, w))`` (mmseg's keys: logits of the windows
            averaged) or ``dict(mode='slide_global', resize=(h, w), crop_size=(h, w),
            stride=(h, w))`` (CAT-Seg's: the image resized to ``resize``, the scores of the
            windows averaged, then averaged with the score of the whole image resized to
            ``crop_size``). Defaults to whole.
        data_preprocessor (dict, optional): mmseg preprocessor config, built in the mmseg
            scope. Defaults to :data:`DEFAULT_PREPROCESSOR`.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 clip: Union[str, dict, torch.nn.Module],
                 tokenizer: Optional[str] = None,
                 vocabulary=None,
                 train_vocabulary=None,
                 language: str = 'en',
                 templates: Optional[dict] = None,
                 walk_type: str = 'box',
                 prob_thd: float = 0.0,
                 bg_idx: int = 0,
                 class_to_label: Optional[Sequence[int]] = None,
                 patch_budget: Union[int, str] = 'dynamic',
                 max_num_patches: int = 4096,
                 cache_dir: Union[str, bool, None] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        preprocessor = data_preprocessor if data_preprocessor is not None else \
            DEFAULT_PREPROCESSOR
        if isinstance(preprocessor, dict):
            preprocessor = build_host(preprocessor, MMSEG_MODELS)
        super().__init__(data_preprocessor=preprocessor, init_cfg=copy.deepcopy(init_cfg))
        self.clip = build_clip(clip)
        self.patch_size = self.clip.vision_backbone.patch_size
        if tokenizer is None and isinstance(clip, (str, os.PathLike)):
            tokenizer = clip
        self.tokenizer_dir = None if tokenizer is None else os.fspath(tokenizer)
        self._tokenizer = None
        if language not in LANGUAGES:
            raise ValueError(f'language={language!r} is not supported, expected one of '
                             f'{LANGUAGES}')
        self.language = language
        self.embedder = ClassTextEmbedder(templates, walk_type, cache_dir)
        if not 0.0 <= float(prob_thd) < 1.0:
            raise ValueError(f'prob_thd must lie in [0, 1), got {prob_thd}')
        self.prob_thd = float(prob_thd)
        self.bg_idx = int(bg_idx)
        self.class_to_label = None if class_to_label is None else \
            [int(v) for v in class_to_label]
        if self.class_to_label is not None and (not self.class_to_label
                                                or min(self.class_to_label) < 0):
            raise ValueError(f'class_to_label must be a non-empty list of labels >= 0, got '
                             f'{class_to_label}')
        self.patch_budget = check_patch_budget(patch_budget)
        self.max_num_patches = int(max_num_patches)
        self.test_cfg = self._check_test_cfg(test_cfg)
        self.align_corners = False
        self._vocab: Dict[str, Optional[ClassVocabulary]] = dict(train=None, test=None)
        self._text: Dict[str, Optional[tuple]] = dict(train=None, test=None)
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)
        if train_vocabulary is not None:
            self.set_vocabulary(train_vocabulary, which='train')

    @staticmethod
    def _check_test_cfg(test_cfg: Optional[dict]) -> dict:
        cfg = dict(mode='whole')
        cfg.update(copy.deepcopy(test_cfg) if test_cfg else {})
        if cfg['mode'] not in TEST_MODES:
            raise ValueError(f'test_cfg.mode={cfg["mode"]!r} is not supported, expected one '
                             f'of {TEST_MODES}')
        if cfg['mode'] != 'whole':
            keys = ('crop_size', 'stride', 'resize') if cfg['mode'] == 'slide_global' else \
                ('crop_size', 'stride')
            for key in keys:
                value = cfg.get(key)
                if (not isinstance(value, (list, tuple)) or len(value) != 2
                        or not all(isinstance(v, int) and v > 0 for v in value)):
                    raise ValueError(f'test_cfg.mode="{cfg["mode"]}" needs {key}=(h, w) of '
                                     f'positive ints, got {value!r}')
        if cfg['mode'] == 'slide_global' and any(
                r < c for r, c in zip(cfg['resize'], cfg['crop_size'])):
            raise ValueError(f'test_cfg.resize={cfg["resize"]} must be at least '
                             f'crop_size={cfg["crop_size"]} in both sides')
        return cfg

    # ------------------------------------------------------------------ vocabulary
    @property
    def tokenizer(self):
        """The FG-CLIP 2 tokenizer (loaded on first use), padding to the text tower's own
        position counts (64 / 196 for the released models, fewer for small test ones)."""
        if self._tokenizer is None:
            if self.tokenizer_dir is None:
                raise ValueError('no tokenizer: pass tokenizer=<folder> (a checkpoint folder '
                                 'holds the tokenizer files)')
            from fgclip2_mm.text.tokenization import FGCLIP2Tokenizer
            text = self.clip.text_encoder
            self._tokenizer = FGCLIP2Tokenizer(self.tokenizer_dir, short_length=text.max_len,
                                               long_length=text.long_len)
        return self._tokenizer

    def set_vocabulary(self, vocabulary, language: Optional[str] = None,
                       which: str = 'test') -> List[str]:
        """Change the classes (works at any time; text embeddings come from the cache).

        Args:
            vocabulary: Any vocabulary source (see :mod:`..vocabulary`).
            language (str, optional): New language (``'en'``, ``'zh'``, ``'en+zh'``).
            which (str): ``'test'`` (prediction; also used for training unless a training
                vocabulary is set) or ``'train'``.

        Returns:
            list[str]: Display names of the classes, in output-channel order.
        """
        if which not in VOCAB_KEYS:
            raise ValueError(f'which={which!r} must be one of {VOCAB_KEYS}')
        if language is not None:
            if language not in LANGUAGES:
                raise ValueError(f'language={language!r} is not supported, expected one of '
                                 f'{LANGUAGES}')
            self.language = language
            self._text = dict(train=None, test=None)
        vocab = resolve_vocabulary(vocabulary)
        vocab.queries(self.language)  # fail now on a language the vocabulary cannot serve
        if which == 'test':
            self._check_class_to_label(vocab)
        self._vocab[which] = vocab
        self._text[which] = None
        return vocab.names_in(self.language if self.language != 'en+zh' else 'en')

    def vocabulary(self, which: str = 'test') -> ClassVocabulary:
        """The active vocabulary (``'train'`` falls back to ``'test'``)."""
        vocab = self._vocab.get(which) or self._vocab['test']
        if vocab is None:
            raise ValueError('no vocabulary: pass vocabulary=... or call set_vocabulary()')
        return vocab

    def _check_class_to_label(self, vocab: ClassVocabulary) -> None:
        if self.class_to_label is not None and len(self.class_to_label) != vocab.num_classes:
            raise ValueError(f'class_to_label has {len(self.class_to_label)} entries but the '
                             f'prediction vocabulary has {vocab.num_classes} classes '
                             f'({vocab.names[:5]}...); give one label per class')

    @property
    def num_output_labels(self) -> int:
        """Labels ``pred_sem_seg`` can hold: the prediction classes, or the labels of
        ``class_to_label``. Must equal the evaluated dataset's class count (checked by
        :class:`FGCLIP2SegVocabularyCheckHook`)."""
        if self.class_to_label is not None:
            return max(self.class_to_label) + 1
        return self.vocabulary().num_classes

    @property
    def score_activation(self) -> str:
        """``'softmax'`` (class scores compete) or ``'sigmoid'`` (per-class scores, e.g. a
        head trained with binary cross-entropy)."""
        return 'softmax'

    def activate(self, logits: torch.Tensor, dim: int) -> torch.Tensor:
        """Scores in [0, 1] from logits with :attr:`score_activation` along ``dim``."""
        if self.score_activation not in SCORE_ACTIVATIONS:
            raise ValueError(f'score_activation={self.score_activation!r} is not one of '
                             f'{SCORE_ACTIVATIONS}')
        if self.score_activation == 'sigmoid':
            return logits.float().sigmoid()
        return F.softmax(logits.float(), dim=dim)

    def deactivate(self, scores: torch.Tensor) -> torch.Tensor:
        """Logits whose :meth:`activate` gives back ``scores`` (B, K, H, W) (softmax: up
        to normalisation; the scores averaged over views already sum to 1)."""
        if self.score_activation == 'sigmoid':
            return torch.logit(scores, eps=1e-6)
        return scores.clamp_min(1e-12).log()

    @property
    def class_names(self) -> List[str]:
        """Display names of the prediction vocabulary."""
        return self.vocabulary().names

    def class_queries(self, which: str = 'test') -> tuple:
        """``(embeds (Q, D), owner (Q,))`` of the vocabulary, on the model's device."""
        key = 'train' if which == 'train' and self._vocab['train'] is not None else 'test'
        if self._text[key] is None:
            self._text[key] = self.embedder(self.clip, self.tokenizer, self.vocabulary(key),
                                            self.language)
        device = next(self.clip.parameters()).device
        return tuple(t.to(device) for t in self._text[key])

    # -------------------------------------------------------------------- features
    def dense_features(self, images: torch.Tensor, out_indices: Sequence[int] = ()) -> dict:
        """NaFlex dense features of normalised images (B, 3, H, W).

        The images are resized to the patch grid chosen by ``patch_budget`` (aspect ratio
        kept; the position table is resized to that grid inside the backbone).

        Returns:
            dict: ``dense`` (B, D, h, w) dense-head features (not normalised) and
            ``layers``: (B, D, h, w) maps of the requested encoder layers.
        """
        vit = self.clip.vision_backbone
        grid = naflex_grid(images.shape[-2], images.shape[-1], self.patch_size,
                           self.patch_budget, self.max_num_patches)
        pixels = resize_to_grid(images, grid, self.patch_size)
        last = vit.num_layers - 1
        wanted = tuple(sorted(set(int(i) % vit.num_layers for i in out_indices) | {last}))
        feats = vit.forward_tokens(pixels, out_indices=wanted)
        dense = vit.dense_head.forward_dense(feats['tokens'], feats['key_mask'])

        def as_map(tokens: torch.Tensor) -> torch.Tensor:
            return tokens.unflatten(1, grid).permute(0, 3, 1, 2)

        layers = {i: as_map(o) for i, o in zip(wanted, feats['outs'])}
        return dict(dense=as_map(dense),
                    layers=[layers[int(i) % vit.num_layers] for i in out_indices])

    def extract_feat(self, inputs: torch.Tensor) -> dict:
        """Dense features of the batch (see :meth:`dense_features`)."""
        return self.dense_features(inputs)

    # ------------------------------------------------------------------- inference
    def inference(self, inputs: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
        """Class logits (B, K, H, W) at the input size, whole image or sliding windows."""
        if self.test_cfg['mode'] == 'slide':
            return self.slide_inference(inputs, batch_img_metas)
        if self.test_cfg['mode'] == 'slide_global':
            return self.slide_global_inference(inputs, batch_img_metas)
        return self.encode_decode(inputs, batch_img_metas)

    def slide_global_inference(self, inputs: torch.Tensor,
                               batch_img_metas: List[dict]) -> torch.Tensor:
        """CAT-Seg's test inference (``cat_seg_model.py`` l.187-223, HEAD 6d3a188): resize
        the image to ``resize`` (640 x 640), score overlapping ``crop_size`` windows (384,
        stride 256) and the whole image resized to ``crop_size`` in one batch, average the
        window *scores* (after :meth:`activate`) per pixel, average that with the upsampled
        global score, and return logits of it at the input size."""
        (h_res, w_res), crop = self.test_cfg['resize'], self.test_cfg['crop_size']
        batch, _, h_img, w_img = inputs.shape
        image = F.interpolate(inputs, size=(h_res, w_res), mode='bilinear',
                              align_corners=False)
        boxes = window_boxes(h_res, w_res, crop, self.test_cfg['stride'])
        views = [image[:, :, y1:y2, x1:x2] for y1, x1, y2, x2 in boxes]
        views.append(F.interpolate(inputs, size=tuple(crop), mode='bilinear',
                                   align_corners=False))
        scores = self.activate(self.encode_decode(torch.cat(views), batch_img_metas), dim=1)
        scores = scores.split(batch)
        whole = F.interpolate(scores[-1], size=(h_res, w_res), mode='bilinear',
                              align_corners=False)
        merged = (average_windows(boxes, scores[:-1], h_res, w_res) + whole) / 2
        merged = F.interpolate(merged, size=(h_img, w_img), mode='bilinear',
                               align_corners=False)
        return self.deactivate(merged)

    def slide_inference(self, inputs: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
        """Average the logits of overlapping ``crop_size`` windows (mmseg's scheme; every
        window gets its own NaFlex grid)."""
        height, width = inputs.shape[2:]
        boxes = window_boxes(height, width, self.test_cfg['crop_size'], self.test_cfg['stride'])
        crops = (self.encode_decode(inputs[:, :, y1:y2, x1:x2], batch_img_metas)
                 for y1, x1, y2, x2 in boxes)
        return average_windows(boxes, crops, height, width)

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[SegDataSample]] = None) -> List[SegDataSample]:
        """Segment a batch; returns data samples with ``seg_logits`` (class logits at the
        original size) and ``pred_sem_seg`` (after the background threshold)."""
        if data_samples is not None:
            metas = [s.metainfo for s in data_samples]
        else:
            shape = tuple(inputs.shape[2:])
            metas = [dict(ori_shape=shape, img_shape=shape, pad_shape=shape,
                          padding_size=[0, 0, 0, 0])] * inputs.shape[0]
        return self.postprocess_result(self.inference(inputs, metas), data_samples)

    def _forward(self, inputs: torch.Tensor, data_samples=None) -> torch.Tensor:
        """Class logits (B, K, H, W) at the input size (``mode='tensor'``)."""
        shape = tuple(inputs.shape[2:])
        return self.inference(inputs, [dict(img_shape=shape)] * inputs.shape[0])

    def apply_background(self, probs: torch.Tensor) -> torch.Tensor:
        """Raise the background channel of class probabilities (K, H, W) to ``prob_thd``:
        ``argmax`` then picks the background exactly where no class reaches it (or where
        the background's own text wins). Returns a new tensor."""
        if self.prob_thd <= 0:
            return probs
        if not 0 <= self.bg_idx < probs.shape[0]:
            raise ValueError(f'bg_idx={self.bg_idx} is outside the {probs.shape[0]} classes')
        out = probs.clone()
        out[self.bg_idx] = out[self.bg_idx].clamp(min=self.prob_thd)
        return out

    def postprocess_result(self, seg_logits: torch.Tensor,
                           data_samples: Optional[List[SegDataSample]] = None) -> list:
        """Remove padding, undo flips, resize the logits (bilinear) to the original image,
        then :meth:`activate` (softmax or sigmoid), background threshold, argmax and
        ``class_to_label``."""
        samples = data_samples if data_samples is not None else \
            [SegDataSample() for _ in range(seg_logits.shape[0])]
        height, width = seg_logits.shape[-2:]
        for i, sample in enumerate(samples):
            logits = seg_logits[i:i + 1]
            if data_samples is not None:
                meta = sample.metainfo
                left, right, top, bottom = meta.get('img_padding_size',
                                                    meta.get('padding_size', [0] * 4))
                logits = logits[:, :, top:height - bottom, left:width - right]
                if meta.get('flip'):
                    logits = logits.flip(dims=(3, ) if meta.get('flip_direction') ==
                                         'horizontal' else (2, ))
                logits = resize(logits, size=meta['ori_shape'], mode='bilinear',
                                align_corners=self.align_corners, warning=False)
            logits = logits[0]
            probs = self.apply_background(self.activate(logits, dim=0))
            pred = probs.argmax(0, keepdim=True)
            if self.class_to_label is not None:
                lut = torch.tensor(self.class_to_label, device=pred.device)
                if lut.numel() != probs.shape[0]:
                    raise ValueError(f'class_to_label has {lut.numel()} entries for '
                                     f'{probs.shape[0]} predicted classes')
                pred = lut[pred]
            sample.set_data(dict(seg_logits=PixelData(data=logits),
                                 pred_sem_seg=PixelData(data=pred)))
        return samples
