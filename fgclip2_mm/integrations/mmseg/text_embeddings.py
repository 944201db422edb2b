"""Class text embeddings for segmentation: prompt ensembles, synonyms, two languages.

One *query* is one synonym slot of one class (see :meth:`ClassVocabulary.queries`). Its
embedding is the L2-normalised mean, over the templates of its language, of the
L2-normalised FG-CLIP 2 text embeddings of ``template.format(name)`` (the box walk by
default: FG-CLIP 2 aligns it with the dense features through the region loss); with
``'en+zh'`` the English and Chinese embeddings of a slot are averaged and normalised again.

The prompt embeddings come from :func:`fgclip2_mm.evaluation.vocabulary_embeddings`, so
they share the evaluation package's disk cache (:class:`TextEmbeddingCache`: one
safetensors file per key hashing the text tower's weights, the tokenizer, the names, the
templates, the language and the walk).
"""
import os.path as osp
from typing import List, Optional, Tuple, Union

import torch
import torch.nn.functional as F

from fgclip2_mm.text.embeddings import TextEmbeddingCache, vocabulary_embeddings
from fgclip2_mm.text import default_cache_dir
from .vocabulary import ClassVocabulary, load_templates


class ClassTextEmbedder:
    """Compute the query embeddings of a vocabulary with an FG-CLIP 2 model.

    Args:
        templates (dict, optional): ``{'en': spec, 'zh': spec}`` (see
            :func:`~.vocabulary.load_templates`). Defaults to ``seg_en`` / ``seg_zh``.
        walk_type (str): Text walk. Defaults to ``'box'``.
        cache_dir (str | bool, optional): Disk cache folder; None for the package default
            (:func:`fgclip2_mm.text.default_cache_dir`: ``$FGCLIP2_MM_CACHE`` honoured),
            False for none.
        batch_size (int): Prompts per text-tower pass. Defaults to 256.
    """

    def __init__(self,
                 templates: Optional[dict] = None,
                 walk_type: str = 'box',
                 cache_dir: Union[str, bool, None] = None,
                 batch_size: int = 256) -> None:
        spec = dict(en='seg_en', zh='seg_zh')
        spec.update(templates or {})
        unknown = sorted(set(spec) - {'en', 'zh'})
        if unknown:
            raise ValueError(f'templates keys must be "en" and/or "zh", got {unknown}')
        self.templates = {lang: load_templates(s) for lang, s in spec.items()}
        self.walk_type = walk_type
        folder = default_cache_dir() if cache_dir is None else cache_dir
        self.cache = TextEmbeddingCache(None if folder is False else osp.expanduser(folder))
        self.batch_size = int(batch_size)

    def __call__(self, model, tokenizer, vocabulary: ClassVocabulary, language: str,
                 cached: bool = True) -> Tuple[torch.Tensor, torch.Tensor]:
        """Query embeddings of ``vocabulary``.

        Args:
            model (FGCLIP2): Provides ``get_text_features`` and ``text_encoder``.
            tokenizer (FGCLIP2Tokenizer): The model's tokenizer.
            vocabulary (ClassVocabulary): The classes.
            language (str): ``'en'``, ``'zh'`` or ``'en+zh'``.
            cached (bool): Use the disk cache and return CPU tensors. False computes the
                embeddings on the model's device under the current grad mode (a text tower
                being fine-tuned). Defaults to True.

        Returns:
            tuple[Tensor, Tensor]: ``embeds`` (Q, D) float32, L2-normalised, on the CPU
            (``cached``) or the model's device, and
            ``owner`` (Q,) long, the class index of each query (classes without a synonym
            own no query).
        """
        slots, owners = [], []
        for cls, queries in enumerate(vocabulary.queries(language)):
            slots.extend(queries)
            owners.extend([cls] * len(queries))
        if not slots:
            raise ValueError('the vocabulary has no text to embed (every class is empty)')
        per_lang = {}
        for lang in ('en', 'zh'):
            rows = [i for i, slot in enumerate(slots) if lang in slot]
            if rows:
                names = [slots[i][lang] for i in rows]
                if cached:
                    emb = vocabulary_embeddings(
                        model, tokenizer, names, self.templates[lang], walk=self.walk_type,
                        lang=lang, cache=self.cache, batch_size=self.batch_size).float().cpu()
                else:
                    emb = self.embed_with_grad(model, tokenizer, names, self.templates[lang])
                per_lang[lang] = (rows, emb)
        first = next(iter(per_lang.values()))[1]
        sums = first.new_zeros(len(slots), first.shape[1])
        for rows, emb in per_lang.values():
            sums = sums.index_add(0, torch.tensor(rows, device=emb.device), emb)
        return F.normalize(sums, dim=-1), torch.tensor(owners, dtype=torch.long,
                                                       device=sums.device)

    def embed_with_grad(self, model, tokenizer, names: List[str],
                        templates: List[str]) -> torch.Tensor:
        """(N, D) class embeddings as :func:`vocabulary_embeddings` computes them (lower-cased
        prompts, normalised mean over the templates), without cache and under the current
        grad mode, on the model's device."""
        prompts = [t.format(name).lower() for name in names for t in templates]
        device = next(model.parameters()).device
        chunks = []
        for start in range(0, len(prompts), self.batch_size):
            ids = tokenizer(prompts[start:start + self.batch_size],
                            walk_type=self.walk_type).to(device)
            chunks.append(F.normalize(model.get_text_features(ids, self.walk_type).float(),
                                      dim=-1))
        emb = torch.cat(chunks).view(len(names), len(templates), -1).mean(1)
        return F.normalize(emb, dim=-1)

    def prompts(self, vocabulary: ClassVocabulary, language: str) -> List[List[str]]:
        """Every prompt text of every query (for inspection)."""
        return [[t.format(name) for lang, name in slot.items() for t in self.templates[lang]]
                for queries in vocabulary.queries(language) for slot in queries]
