"""``FGCLIP2RetrievalMetric``: image <-> text Recall@K (spec §6.2, §6.3)."""
from typing import Dict, List, Sequence

import torch

from fgclip2_mm.registry import METRICS
from ..functional import first_relevant_ranks
from .base import FGCLIP2IndexedMetric


def _ranks_chunked(queries: torch.Tensor, gallery: torch.Tensor, owner_of_relevant,
                   chunk: int) -> torch.Tensor:
    """First-relevant ranks of every query; ``owner_of_relevant(start, end)`` gives the
    (q, G) relevance mask of a chunk of queries."""
    out = []
    for start in range(0, queries.shape[0], chunk):
        end = min(start + chunk, queries.shape[0])
        sims = queries[start:end] @ gallery.t()
        out.append(first_relevant_ranks(sims, owner_of_relevant(start, end)))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


@METRICS.register_module()
class FGCLIP2RetrievalMetric(FGCLIP2IndexedMetric):
    """Recall@K image->text and text->image over the whole gallery.

    Consumes samples of :class:`~fgclip2_mm.datasets.FGCLIP2RetrievalDataset` carrying
    ``image_embeds`` (D,) and ``text_embeds`` (K, D) (L2-normalised; cosine ranks equal the
    reference's sigmoid-logit ranks). The gallery is rebuilt in dataset order from the
    ``sample_idx`` of every result (duplicates from distributed padding dropped, gaps are an
    error). Image->text: an image is a hit at K when one of its captions is among the K
    best texts; text->image: a caption is a hit when its image is among the K best images.
    Ties are broken by gallery order (stable sort). An image that failed to load is a miss
    as a query and is absent from the image gallery (its captions then miss too).

    Output: ``i2t_r1``, ``i2t_r5``, ``i2t_r10``, ``t2i_r1``, ... (fractions, for each
    ``ks``), ``num_images``, ``num_texts``, ``num_failed``.

    Args:
        ks (Sequence[int]): Recall cut-offs. Defaults to (1, 5, 10).
        chunk_size (int): Queries per similarity block. Defaults to 1024.
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'retrieval'``.
    """

    TASK = 'retrieval'
    default_prefix = 'retrieval'

    def __init__(self, ks: Sequence[int] = (1, 5, 10), chunk_size: int = 1024,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.ks = tuple(int(k) for k in ks)
        if not self.ks or min(self.ks) < 1:
            raise ValueError(f'ks must be positive integers, got {ks}')
        if chunk_size < 1:
            raise ValueError(f'chunk_size must be >= 1, got {chunk_size}')
        self.chunk_size = int(chunk_size)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep each sample's embeddings (on the CPU, fp32)."""
        for sample in data_samples:
            failed = self.check_sample(sample, ('image_embeds', 'text_embeds'))
            if 'text_embeds' not in sample:
                raise ValueError(f'sample {sample["sample_idx"]} has no text_embeds')
            texts = torch.as_tensor(sample['text_embeds']).float().cpu()
            image = None if failed else torch.as_tensor(sample['image_embeds']).float().cpu()
            self.results.append(dict(sample_idx=sample['sample_idx'], image=image,
                                     texts=texts.reshape(texts.shape[0], -1), failed=failed))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Recall@K in both directions."""
        results = self.ordered(results)
        texts = torch.cat([r['texts'] for r in results])
        owner = torch.cat([torch.full((r['texts'].shape[0], ), i, dtype=torch.long)
                           for i, r in enumerate(results)])
        ok = torch.tensor([not r['failed'] for r in results], dtype=torch.bool)
        ok_index = ok.nonzero()[:, 0]
        images = (torch.stack([results[i]['image'] for i in ok_index.tolist()])
                  if len(ok_index) else texts.new_zeros(0, texts.shape[1]))
        # image -> text over the loaded images; failed images are misses.
        i2t = _ranks_chunked(images, texts,
                             lambda s, e: owner[None] == ok_index[s:e, None], self.chunk_size)
        # text -> image over the loaded gallery; captions of failed images have no target.
        t2i = _ranks_chunked(texts, images,
                             lambda s, e: owner[s:e, None] == ok_index[None], self.chunk_size)
        out = {}
        num_images, num_texts = len(results), int(texts.shape[0])
        for k in self.ks:
            out[f'i2t_r{k}'] = float((i2t < k).sum()) / num_images if num_images else 0.0
        for k in self.ks:
            out[f't2i_r{k}'] = float((t2i < k).sum()) / num_texts if num_texts else 0.0
        out.update(num_images=num_images, num_texts=num_texts,
                   num_failed=int((~ok).sum()))
        return out
