"""``FGCLIP2ZeroShotHead``: the zero-shot predict path of :class:`~fgclip2_mm.models.FGCLIP2`.

Every zero-shot protocol runs through mmengine's ``model.test_step`` / ``val_step``: the
config's data preprocessor batches the images, then ``FGCLIP2.forward(mode='predict')``
hands batches whose data samples carry an ``eval_task`` metainfo to the head attached as
``FGCLIP2.zero_shot_head`` (by :func:`fgclip2_mm.evaluation.loop.run_zero_shot_tasks`).
This is the structure of mmpretrain's zero-shot CLIP (``CLIPZeroShot.predict`` in
``mmpretrain/models/multimodal/clip/clip.py``: the class prototypes are encoded lazily on
the first ``predict`` call, then every batch is scored against them), with one difference:
the vocabulary is the dataset's (``metainfo``), set per task by :meth:`prepare`. As all
tower calls happen inside ``forward``, a DDP or FSDP wrapper sees them (FSDP gathers its
shards in its root forward).

Per task (``eval_task`` of the dataset's metainfo) it writes into each data sample:

============  ==============================================================
task          fields written (CPU tensors)
============  ==============================================================
box_cls       ``pred_scores`` (K, C): cosine of each box's region feature
              (RoIAlign on the dense map, box mapped to the patch grid as in
              spec §8) with the class weights
fgovd         ``pred_scores`` (T,): softmax(100 cos) over the record's texts
retrieval     ``image_embeds`` (D,), ``text_embeds`` (K, D), L2-normalised
image_cls     ``pred_scores`` (C,): image-class cosine
============  ==============================================================

Class weights (``box_cls``, ``image_cls``) are computed once per task, on its first batch
(templates, walk, language and lower-casing from the metainfo), and cached on disk
(:mod:`fgclip2_mm.text.embeddings`). Texts are tokenised here, in the main
process, with the benchmark's walk and casing. Samples flagged ``load_failed`` get no
prediction (metrics count them as wrong) but their texts are still encoded for retrieval.

Image work is shared: within a batch, samples with identical patches (FG-OVD records of
one image) go through the vision tower once; across the tasks of one run, pooled image
embeddings and region features are memoised (keyed by a digest of the exact patches, the
boxes and the image size; bounded by ``feature_memo_mb``; cleared by :meth:`reset`, which
the loop calls at the start of every run, so weights never change under a memo).

With ``sharded=True`` (set by the loop for an FSDP-wrapped model) every rank must call
each FSDP unit the same number of times: the memo and the disk cache are off, the texts of
a batch go through the text tower in one call, and a batch without a loaded image still
runs the vision tower once on a one-patch dummy.
"""
import hashlib
import os
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F

from fgclip2_mm.structures.batch_keys import IMAGE_KEYS
from fgclip2_mm.text.embeddings import (DEFAULT_CACHE_DIR, TOKENIZER_FILES, TextEmbeddingCache,
                                        encode_text_list, vocabulary_embeddings)
from fgclip2_mm.text.tokenization import FGCLIP2Tokenizer

TASKS = ('box_cls', 'fgovd', 'retrieval', 'image_cls')
VOCABULARY_TASKS = ('box_cls', 'image_cls')


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


class FGCLIP2ZeroShotHead:
    """Zero-shot predictions of an FGCLIP2 batch (see the module docstring).

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
        self.sharded = False
        self.meta: Optional[dict] = None
        self.class_embeds: Optional[torch.Tensor] = None
        self._text_ready = False
        self.reset()

    def reset(self) -> None:
        """Forget memoised image features (call whenever the weights may have changed)."""
        self._memo: Dict[tuple, torch.Tensor] = {}
        self._memo_bytes = 0
        self.num_image_forwards = 0

    def _remember(self, key: tuple, value: torch.Tensor) -> None:
        size = value.numel() * value.element_size()
        if self.sharded or key in self._memo or self._memo_bytes + size > self.memo_limit:
            return
        self._memo[key] = value
        self._memo_bytes += size

    def prepare(self, metainfo: dict) -> None:
        """Select the task of a dataset; its vocabulary is encoded on the first batch.

        Args:
            metainfo (dict): The dataset's metainfo (``eval_task``, ``text_walk``,
                ``lowercase``, ``lang``; ``classes`` and ``templates`` for vocabulary tasks).
        """
        task = metainfo.get('eval_task')
        if task not in TASKS:
            raise ValueError(f'dataset metainfo has eval_task={task!r}, expected one of {TASKS} '
                             '(use the fgclip2_mm evaluation datasets)')
        if task in VOCABULARY_TASKS and not metainfo.get('classes'):
            raise ValueError(f'{task} dataset metainfo has no "classes"')
        self.meta = dict(metainfo)
        self.class_embeds = None
        self._text_ready = False

    def _prepare_text(self, model) -> None:
        """Text lengths from the model and the class weights of the task (first batch)."""
        if self._text_ready:
            return
        if self._lengths_from_model:
            text = model.text_encoder
            self.tokenizer.short_length, self.tokenizer.long_length = text.max_len, text.long_len
        if self.meta['eval_task'] in VOCABULARY_TASKS:
            # The cache key hashes the text tower's state dict, which FSDP shards.
            cache = TextEmbeddingCache(None) if self.sharded else self.cache
            self.class_embeds = vocabulary_embeddings(
                model, self.tokenizer, self.meta['classes'],
                self.meta.get('templates', ('{}', )), self.meta['text_walk'],
                self.meta.get('lang', 'en'), self.meta.get('lowercase', True), cache,
                self.text_batch_size).cpu()
        self._text_ready = True

    def _texts(self, model, texts: Sequence[str]) -> torch.Tensor:
        """(N, D) CPU embeddings; one tower call when sharded (a dummy text if N = 0)."""
        if self.sharded:
            out = encode_text_list(model, self.tokenizer, list(texts) or [''],
                                   self.meta['text_walk'], self.meta.get('lowercase', True),
                                   max(len(texts), 1))
            return out[:len(texts)].cpu()
        return encode_text_list(model, self.tokenizer, texts, self.meta['text_walk'],
                                self.meta.get('lowercase', True), self.text_batch_size).cpu()

    @staticmethod
    def _digest(patches: torch.Tensor, shape: tuple) -> str:
        digest = hashlib.blake2b(digest_size=16)
        digest.update(str(tuple(shape)).encode())
        digest.update(patches.detach().cpu().float().contiguous().numpy().tobytes())
        return digest.hexdigest()

    def _vision(self, model, inputs: dict, rows: List[int]) -> tuple:
        """The image tensors of batch ``rows`` in the model's dtype."""
        self.num_image_forwards += len(rows)
        dtype = next(model.parameters()).dtype
        index = torch.as_tensor(rows, device=inputs['pixel_values'].device)
        return (inputs['pixel_values'].index_select(0, index).to(dtype),
                inputs['pixel_attention_mask'].index_select(0, index),
                inputs['spatial_shapes'].index_select(0, index))

    @staticmethod
    def _dummy(model, inputs: dict) -> tuple:
        """A one-patch image (collective balance of a sharded model)."""
        pixels = inputs['pixel_values']
        dtype = next(model.parameters()).dtype
        return (pixels.new_zeros(1, 1, pixels.shape[-1], dtype=dtype),
                torch.ones(1, 1, dtype=torch.int32, device=pixels.device),
                torch.ones(1, 2, dtype=torch.long, device=pixels.device))

    def _pooled(self, model, inputs, ok, digests) -> Dict[int, torch.Tensor]:
        """L2-normalised pooled embeddings (D,) of the loaded samples."""
        keys = {i: ('pooled', digests[i]) for i in ok}
        groups: Dict[str, List[int]] = {}  # identical image -> members, memo misses only
        for i in ok:
            if keys[i] not in self._memo:
                groups.setdefault(digests[i], []).append(i)
        local = {}
        if groups:
            firsts = [members[0] for members in groups.values()]
            vision = self._vision(model, inputs, firsts)
            emb = F.normalize(model.get_image_features(*vision).float(), dim=-1).cpu()
            for members, row in zip(groups.values(), emb):
                for i in members:
                    local[i] = row
                self._remember(keys[members[0]], row)
        elif self.sharded:
            model.get_image_features(*self._dummy(model, inputs))
        return {i: local[i] if i in local else self._memo[keys[i]] for i in ok}

    def _regions(self, model, inputs, samples, ok, digests) -> Dict[int, torch.Tensor]:
        """L2-normalised region features (K_i, D) of the loaded samples' ``gt_instances``
        (memoised per box, so FG-OVD records and box classification share them)."""
        boxes = {i: torch.as_tensor(samples[i].gt_instances.bboxes).detach().cpu().float()
                 for i in ok}
        sizes = {i: tuple(int(v) for v in samples[i].metainfo['ori_shape'][:2]) for i in ok}
        image = {i: (digests[i], sizes[i]) for i in ok}
        keys = {i: [('region', *image[i], box.numpy().tobytes()) for box in boxes[i]]
                for i in ok}
        missing: Dict[tuple, Dict[tuple, torch.Tensor]] = {}  # image -> unique missing boxes
        first: Dict[tuple, int] = {}
        for i in ok:
            for key, box in zip(keys[i], boxes[i]):
                if key not in self._memo:
                    missing.setdefault(image[i], {})[key] = box
                    first.setdefault(image[i], i)
        local: Dict[tuple, torch.Tensor] = {}
        if missing:
            firsts = [first[img] for img in missing]
            feats = model.get_image_region_features(
                *self._vision(model, inputs, firsts), [sizes[i] for i in firsts],
                [torch.stack(list(m.values())) for m in missing.values()])
            for todo, feat in zip(missing.values(), feats):
                for key, row in zip(todo, F.normalize(feat.float(), dim=-1).cpu()):
                    local[key] = row
                    self._remember(key, row)
        elif self.sharded:
            model.get_image_region_features(*self._dummy(model, inputs), [(1, 1)],
                                            [torch.tensor([[0.0, 0.0, 1.0, 1.0]])])
        dims = 0 if self.class_embeds is None else self.class_embeds.shape[1]
        out = {}
        for i in ok:
            rows = [local[k] if k in local else self._memo[k] for k in keys[i]]
            out[i] = torch.stack(rows) if rows else torch.zeros(0, dims)  # image without box
        return out

    def predict(self, model: torch.nn.Module, inputs: Dict[str, torch.Tensor],
                data_samples: Sequence) -> List:
        """Predict one preprocessed batch (called by ``FGCLIP2.predict``, in ``forward``).

        Args:
            model (FGCLIP2): The model itself (inside any DDP / FSDP wrapper).
            inputs (dict[str, Tensor]): Data-preprocessor output: ``pixel_values``
                (B, N, 3*p*p), ``pixel_attention_mask`` (B, N), ``spatial_shapes`` (B, 2);
                a sample that failed to load has shape (0, 0).
            data_samples (Sequence[FGCLIP2DataSample]): The batch's samples (B).

        Returns:
            list: The data samples with the task's prediction fields.
        """
        if self.meta is None:
            raise ValueError('FGCLIP2ZeroShotHead.prepare(dataset.metainfo) must be called '
                             'before predict')
        samples = list(data_samples)
        task = self.meta['eval_task']
        for sample in samples:
            if sample.metainfo.get('eval_task') != task:
                raise ValueError(f'batch sample of task {sample.metainfo.get("eval_task")!r} '
                                 f'for a head prepared for {task!r}')
        missing = [key for key in IMAGE_KEYS if key not in inputs]
        if missing:
            raise ValueError(f'zero-shot inputs miss {missing}; the data preprocessor must '
                             'batch the images (FGCLIP2DataPreprocessor)')
        self._prepare_text(model)
        ok = [i for i, s in enumerate(samples) if not s.metainfo.get('load_failed', False)]
        shapes = inputs['spatial_shapes'].tolist()
        digests = {i: self._digest(inputs['pixel_values'][i, :shapes[i][0] * shapes[i][1]],
                                   shapes[i]) for i in ok}
        if task in ('box_cls', 'fgovd'):
            images = self._regions(model, inputs, samples, ok, digests)
        else:
            images = self._pooled(model, inputs, ok, digests)
        getattr(self, f'_predict_{task}')(model, samples, images)
        return samples

    def _predict_box_cls(self, model, samples, regions) -> None:
        for i, feats in regions.items():
            samples[i].set_field(feats @ self.class_embeds.t(), 'pred_scores')

    def _predict_fgovd(self, model, samples, regions) -> None:
        # Texts of every record (failed ones too): the same tower calls on every rank.
        texts = [t for s in samples for t in s.metainfo['texts']]
        counts = [len(s.metainfo['texts']) for s in samples]
        for i, emb in enumerate(self._texts(model, texts).split(counts)):
            if i in regions:
                cos = regions[i].reshape(1, -1) @ emb.t()
                samples[i].set_field((self.region_logit_scale * cos[0]).softmax(-1),
                                     'pred_scores')

    def _predict_retrieval(self, model, samples, images) -> None:
        texts = [t for s in samples for t in s.metainfo['captions']]
        counts = [len(s.metainfo['captions']) for s in samples]
        for sample, emb in zip(samples, self._texts(model, texts).split(counts)):
            sample.set_field(emb, 'text_embeds')
        for i, emb in images.items():
            samples[i].set_field(emb, 'image_embeds')

    def _predict_image_cls(self, model, samples, images) -> None:
        for i, emb in images.items():
            samples[i].set_field(emb @ self.class_embeds.t(), 'pred_scores')
