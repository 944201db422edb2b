"""``FGCLIP2ZeroShotPredictor``: the model side of every zero-shot protocol.

It composes an :class:`~fgclip2_mm.models.FGCLIP2` through its official inference methods
(``get_image_features``, ``get_image_region_features``, ``get_text_features``), so the
same code serves ``Runner.test``, validation during training and plain Python, whatever the
training config's data preprocessor and ``predict`` mode do. Per task (``eval_task`` of the
dataset's metainfo) it writes into each data sample:

============  ==============================================================
task          fields written
============  ==============================================================
box_cls       ``pred_scores`` (K, C): cosine of each box's region feature
              (RoIAlign on the dense map, box mapped to the patch grid as in
              spec §8) with the class weights
fgovd         ``pred_scores`` (T,): softmax(100 cos) over the record's texts
retrieval     ``image_embeds`` (D,), ``text_embeds`` (K, D), L2-normalised
image_cls     ``pred_scores`` (C,): image-class cosine
============  ==============================================================

Class weights (``box_cls``, ``image_cls``) are computed once per dataset in
:meth:`prepare` (templates, walk, language and lower-casing from the metainfo) and cached
on disk (:mod:`fgclip2_mm.evaluation.text_embeddings`). Texts are tokenised here, in the
main process, with the benchmark's walk and casing. Samples flagged ``load_failed`` get no
prediction (metrics count them as wrong) but their texts are still encoded for retrieval.

Image work is shared: within a batch, samples with identical patches (FG-OVD records of
one image) go through the vision tower once; across the tasks of one run, pooled image
embeddings and region features are memoised (keyed by a digest of the exact patches, the
boxes and the image size; bounded by ``feature_memo_mb``; cleared by :meth:`reset`, which
the loops call at the start of every run, so weights never change under a memo).
"""
import hashlib
import os
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F

from fgclip2_mm.datasets.tokenization import FGCLIP2Tokenizer
from fgclip2_mm.datasets.transforms.naflex import collate_naflex
from .text_embeddings import (DEFAULT_CACHE_DIR, TOKENIZER_FILES, TextEmbeddingCache,
                              encode_text_list, vocabulary_embeddings)

TASKS = ('box_cls', 'fgovd', 'retrieval', 'image_cls')
VOCABULARY_TASKS = ('box_cls', 'image_cls')


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside a DDP / FSDP / mmengine wrapper."""
    from mmengine.model import is_model_wrapper
    return model.module if is_model_wrapper(model) else model


def _build_tokenizer(tokenizer) -> FGCLIP2Tokenizer:
    if isinstance(tokenizer, FGCLIP2Tokenizer):
        return tokenizer
    if isinstance(tokenizer, (str, os.PathLike)):
        folder = os.path.expanduser(str(tokenizer))
        if os.path.isdir(folder) and not any(
                os.path.isfile(os.path.join(folder, name)) for name in TOKENIZER_FILES[:2]):
            raise ValueError(f'{tokenizer!r} holds no tokenizer files ({TOKENIZER_FILES[:2]}); '
                             'set test_cfg.tokenizer / val_cfg.tokenizer to a tokenizer folder')
        return FGCLIP2Tokenizer(str(tokenizer), lowercase=False)
    if isinstance(tokenizer, dict):
        cfg = {k: v for k, v in tokenizer.items() if k not in ('type', 'lowercase')}
        return FGCLIP2Tokenizer(**cfg, lowercase=False)
    raise ValueError('tokenizer must be a folder, a dict of FGCLIP2Tokenizer arguments or an '
                     f'FGCLIP2Tokenizer, got {tokenizer!r} (set test_cfg.tokenizer / '
                     'val_cfg.tokenizer, or pass a checkpoint folder holding tokenizer files)')


class FGCLIP2ZeroShotPredictor:
    """Model-side predictions of the zero-shot protocols (see the module docstring).

    Args:
        tokenizer (str | dict | FGCLIP2Tokenizer): Tokenizer folder (a checkpoint folder
            holds one), or ``FGCLIP2Tokenizer`` arguments. Casing is applied per benchmark.
        cache_dir (str, optional): Vocabulary-embedding cache folder; ``None`` disables.
            Defaults to ``~/.cache/fgclip2_mm/text_embeddings``.
        region_logit_scale (float): Scale of the FG-OVD softmax. Defaults to 100 (the
            reference).
        text_batch_size (int): Texts per text-tower forward. Defaults to 256.
        feature_memo_mb (float): Memory bound of the image-feature memo. Defaults to 512;
            0 disables it.
    """

    def __init__(self,
                 tokenizer: Union[str, dict, FGCLIP2Tokenizer],
                 cache_dir: Optional[str] = DEFAULT_CACHE_DIR,
                 region_logit_scale: float = 100.0,
                 text_batch_size: int = 256,
                 feature_memo_mb: float = 512) -> None:
        self.tokenizer = _build_tokenizer(tokenizer)
        # A folder (or a dict without lengths) says nothing about the text lengths: they
        # follow the model's walks (64 / 196 for the released models, less for small ones).
        self._lengths_from_model = not (isinstance(tokenizer, FGCLIP2Tokenizer) or (
            isinstance(tokenizer, dict) and
            ({'short_length', 'long_length'} & set(tokenizer))))
        self.cache = TextEmbeddingCache(cache_dir)
        self.region_logit_scale = float(region_logit_scale)
        self.text_batch_size = int(text_batch_size)
        self.memo_limit = int(feature_memo_mb * 2**20)
        self.meta: Optional[dict] = None
        self.class_embeds: Optional[torch.Tensor] = None
        self.reset()

    def reset(self) -> None:
        """Forget memoised image features (call whenever the weights may have changed)."""
        self._memo: Dict[tuple, torch.Tensor] = {}
        self._memo_bytes = 0
        self.num_image_forwards = 0

    def _remember(self, key: tuple, value: torch.Tensor) -> None:
        size = value.numel() * value.element_size()
        if key not in self._memo and self._memo_bytes + size <= self.memo_limit:
            self._memo[key] = value
            self._memo_bytes += size

    @torch.no_grad()
    def prepare(self, model: torch.nn.Module, metainfo: dict) -> None:
        """Select the task of a dataset and encode its vocabulary (if it has one).

        Args:
            model (nn.Module): FGCLIP2 (possibly wrapped).
            metainfo (dict): The dataset's metainfo (``eval_task``, ``text_walk``,
                ``lowercase``, ``lang``; ``classes`` and ``templates`` for vocabulary tasks).
        """
        task = metainfo.get('eval_task')
        if task not in TASKS:
            raise ValueError(f'dataset metainfo has eval_task={task!r}, expected one of {TASKS} '
                             '(use the fgclip2_mm evaluation datasets)')
        self.meta = dict(metainfo)
        self.class_embeds = None
        if self._lengths_from_model:
            text = unwrap_model(model).text_encoder
            self.tokenizer.short_length, self.tokenizer.long_length = text.max_len, text.long_len
        if task in VOCABULARY_TASKS:
            if not metainfo.get('classes'):
                raise ValueError(f'{task} dataset metainfo has no "classes"')
            self.class_embeds = vocabulary_embeddings(
                unwrap_model(model), self.tokenizer, metainfo['classes'],
                metainfo.get('templates', ('{}', )), metainfo['text_walk'],
                metainfo.get('lang', 'en'), metainfo.get('lowercase', True), self.cache,
                self.text_batch_size)

    def _texts(self, model, texts: Sequence[str]) -> torch.Tensor:
        return encode_text_list(model, self.tokenizer, texts, self.meta['text_walk'],
                                self.meta.get('lowercase', True), self.text_batch_size)

    @staticmethod
    def _patches(inputs, sample) -> torch.Tensor:
        h, w = (int(v) for v in sample.metainfo['spatial_shape'])
        return torch.as_tensor(inputs)[:h * w]

    @staticmethod
    def _digest(patches: torch.Tensor, sample) -> str:
        digest = hashlib.blake2b(digest_size=16)
        digest.update(str(tuple(sample.metainfo['spatial_shape'])).encode())
        digest.update(patches.detach().cpu().float().contiguous().numpy().tobytes())
        return digest.hexdigest()

    def _vision(self, model, patches: List[torch.Tensor], samples: Sequence) -> tuple:
        self.num_image_forwards += len(patches)
        batch = collate_naflex([(p, tuple(int(v) for v in s.metainfo['spatial_shape']))
                                for p, s in zip(patches, samples)])
        param = next(model.parameters())
        return (batch['pixel_values'].to(param.device, param.dtype),
                batch['pixel_attention_mask'].to(param.device),
                batch['spatial_shapes'].to(param.device))

    def _unique_misses(self, ok, keys, images) -> Dict[str, List[int]]:
        """Samples whose key is not memoised, grouped by identical image (``images``)."""
        groups: Dict[str, List[int]] = {}
        for i in ok:
            if keys[i] not in self._memo:
                groups.setdefault(images[i], []).append(i)
        return groups

    def _pooled(self, model, patches, samples, ok, digests) -> Dict[int, torch.Tensor]:
        """L2-normalised pooled embeddings (D,) of the loaded samples."""
        keys = {i: ('pooled', digests[i]) for i in ok}
        groups = self._unique_misses(ok, keys, digests)
        local = {}
        if groups:
            firsts = [members[0] for members in groups.values()]
            vision = self._vision(model, [patches[i] for i in firsts],
                                  [samples[i] for i in firsts])
            emb = F.normalize(model.get_image_features(*vision).float(), dim=-1).cpu()
            for members, row in zip(groups.values(), emb):
                for i in members:
                    local[i] = row
                self._remember(keys[members[0]], row)
        return {i: local[i] if i in local else self._memo[keys[i]] for i in ok}

    def _regions(self, model, patches, samples, ok, digests) -> Dict[int, torch.Tensor]:
        """L2-normalised region features (K_i, D) of the loaded samples' ``gt_instances``
        (memoised per box, so FG-OVD records and box classification share them)."""
        boxes = {i: torch.as_tensor(samples[i].gt_instances.bboxes, dtype=torch.float32)
                 for i in ok}
        sizes = {i: tuple(int(v) for v in samples[i].metainfo['ori_shape'][:2]) for i in ok}
        image = {i: (digests[i], sizes[i]) for i in ok}
        keys = {i: [('region', *image[i], box.numpy().tobytes()) for box in boxes[i]]
                for i in ok}
        missing: Dict[tuple, Dict[bytes, torch.Tensor]] = {}  # image -> unique missing boxes
        first: Dict[tuple, int] = {}
        for i in ok:
            for key, box in zip(keys[i], boxes[i]):
                if key not in self._memo:
                    missing.setdefault(image[i], {})[key] = box
                    first.setdefault(image[i], i)
        local: Dict[tuple, torch.Tensor] = {}
        if missing:
            firsts = [first[img] for img in missing]
            vision = self._vision(model, [patches[i] for i in firsts],
                                  [samples[i] for i in firsts])
            feats = model.get_image_region_features(
                *vision, [sizes[i] for i in firsts],
                [torch.stack(list(m.values())) for m in missing.values()])
            for todo, feat in zip(missing.values(), feats):
                for key, row in zip(todo, F.normalize(feat.float(), dim=-1).cpu()):
                    local[key] = row
                    self._remember(key, row)
        dims = 0 if self.class_embeds is None else self.class_embeds.shape[1]
        out = {}
        for i in ok:
            rows = [local[k] if k in local else self._memo[k] for k in keys[i]]
            out[i] = torch.stack(rows) if rows else torch.zeros(0, dims)  # image without box
        return out

    @torch.no_grad()
    def predict(self, model: torch.nn.Module, data_batch: dict) -> List:
        """Predict one collated batch (``pseudo_collate``: lists of inputs and samples).

        Args:
            model (nn.Module): FGCLIP2 (possibly wrapped).
            data_batch (dict): ``inputs`` (list of (h*w, 3*p*p) tensors) and
                ``data_samples`` (list of FGCLIP2DataSample).

        Returns:
            list: The data samples with the task's prediction fields.
        """
        if self.meta is None:
            raise ValueError('FGCLIP2ZeroShotPredictor.prepare(model, dataset.metainfo) must '
                             'be called before predict')
        model = unwrap_model(model)
        samples = list(data_batch['data_samples'])
        inputs = list(data_batch['inputs'])
        task = self.meta['eval_task']
        for sample in samples:
            if sample.metainfo.get('eval_task') != task:
                raise ValueError(f'batch sample of task {sample.metainfo.get("eval_task")!r} '
                                 f'for a predictor prepared for {task!r}')
        ok = [i for i, s in enumerate(samples) if not s.metainfo.get('load_failed', False)]
        patches = {i: self._patches(inputs[i], samples[i]) for i in ok}
        digests = {i: self._digest(patches[i], samples[i]) for i in ok}
        if task in ('box_cls', 'fgovd'):
            images = self._regions(model, patches, samples, ok, digests)
        else:
            images = self._pooled(model, patches, samples, ok, digests)
        getattr(self, f'_predict_{task}')(model, samples, images)
        return samples

    def _predict_box_cls(self, model, samples, regions) -> None:
        for i, feats in regions.items():
            samples[i].set_field(feats @ self.class_embeds.t().cpu(), 'pred_scores')

    def _predict_fgovd(self, model, samples, regions) -> None:
        if not regions:
            return
        ok = list(regions)
        texts = [t for i in ok for t in samples[i].metainfo['texts']]
        counts = [len(samples[i].metainfo['texts']) for i in ok]
        text_embeds = self._texts(model, texts).cpu().split(counts)
        for i, emb in zip(ok, text_embeds):
            cos = regions[i].reshape(1, -1) @ emb.t()
            samples[i].set_field((self.region_logit_scale * cos[0]).softmax(-1), 'pred_scores')

    def _predict_retrieval(self, model, samples, images) -> None:
        texts = [t for s in samples for t in s.metainfo['captions']]
        counts = [len(s.metainfo['captions']) for s in samples]
        for sample, emb in zip(samples, self._texts(model, texts).cpu().split(counts)):
            sample.set_field(emb, 'text_embeds')
        for i, emb in images.items():
            samples[i].set_field(emb, 'image_embeds')

    def _predict_image_cls(self, model, samples, images) -> None:
        for i, emb in images.items():
            samples[i].set_field(emb @ self.class_embeds.t().cpu(), 'pred_scores')
