"""``FGCLIP2RetrievalDataset``: image-text retrieval (spec §6.2 and §6.3)."""
import os.path as osp
from typing import List, Optional

from fgclip2_mm.registry import DATASETS
from .base import FGCLIP2EvalDataset
from .retrieval_formats import FORMATS, parse_retrieval


@DATASETS.register_module()
class FGCLIP2RetrievalDataset(FGCLIP2EvalDataset):
    """One sample per gallery image with all its captions (``captions`` metainfo).

    The metric ranks every image against every caption of the dataset (R@1/5/10 both
    ways). Walk and length follow the benchmark: ``text_walk='short'`` (64 tokens: COCO,
    Flickr30k, Flickr30k-CNA, COCO-CN) or ``'long'`` (196 tokens: ShareGPT4V, DCI, LIT-CN,
    DCI-CN, DOCCI-CN); texts are lower-cased except for the Chinese long-caption sets
    (``lowercase=False``), as the reference scripts do.

    Args:
        ann_file (str): Annotation file (a folder for ``'dci'``).
        ann_format (str): One of :data:`~.retrieval_formats.FORMATS` (see that module).
        split (str): Karpathy split to keep. Defaults to ``'test'``.
        max_captions (int, optional): Keep the first N captions per image (COCO 5k: 5).
        max_images (int, optional): Keep the first N images (ShareGPT4V-1k: 1000).
        text_walk (str): ``'short'`` or ``'long'``. Defaults to ``'short'``.
        **kwargs: See :class:`FGCLIP2EvalDataset`.
    """

    TASK = 'retrieval'
    TASK_KEYS = ('captions', )

    def __init__(self,
                 ann_file: str,
                 ann_format: str = 'list_json',
                 split: str = 'test',
                 max_captions: Optional[int] = None,
                 max_images: Optional[int] = None,
                 text_walk: str = 'short',
                 **kwargs) -> None:
        if ann_format not in FORMATS:
            raise ValueError(f'ann_format must be one of {FORMATS}, got {ann_format!r}')
        for name, value in (('max_captions', max_captions), ('max_images', max_images)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ValueError(f'{name} must be a positive int or None, got {value!r}')
        if text_walk == 'box':
            raise ValueError("retrieval uses text_walk 'short' or 'long', got 'box'")
        self.ann_format = ann_format
        self.split = split
        self.max_captions = max_captions
        self.max_images = max_images
        super().__init__(ann_file, text_walk=text_walk, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Parse the annotation file into one record per image."""
        items, skipped = parse_retrieval(self.ann_file, self.ann_format, self.split)
        if self.max_images is not None:
            items = items[:self.max_images]
        data_list = [
            dict(img_path=osp.join(self.data_prefix['img_path'], image),
                 captions=captions[:self.max_captions] if self.max_captions else captions)
            for image, captions in items
        ]
        self._log(f'{type(self).__name__}: {osp.basename(self.ann_file)} ({self.ann_format}): '
                  f'{len(data_list)} images, {sum(len(d["captions"]) for d in data_list)} '
                  f'captions; {skipped} records left out by the format rules')
        return data_list
