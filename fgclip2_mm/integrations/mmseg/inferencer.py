"""``FGCLIP2OVSegInferencer``: segment images with any English / Chinese vocabulary.

Inputs (one image, a list or a folder) are checked before any model work by
:mod:`fgclip2_mm.apis.images`, the inference APIs' checks: an empty folder, a missing or
non-image file, a float / 16-bit / wrongly shaped array each raise one error naming the
folder, the file or the index; files are decoded by the training loader. Lists are batched
without changing results: a segmentor picks one NaFlex grid per batch from the batch's
size and resizes its logits back to it, so only images of the same (height, width) share a
batch (:func:`fgclip2_mm.apis.batching.group_batches`).
"""
import copy
import os
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmseg.structures import SegDataSample

from fgclip2_mm.apis.batching import Progress, check_batch_size, group_batches, thread_map
from fgclip2_mm.apis.images import as_image_list, inspect_images, load_image
from .visualization import save_overlay


def build_segmentor(model, weights: Optional[str] = None, device: str = 'cpu',
                    cfg_options: Optional[dict] = None):
    """A segmentor from a config file / Config (its ``model``), or a built module."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    if isinstance(model, torch.nn.Module):
        segmentor = model
    else:
        cfg = Config.fromfile(model) if isinstance(model, (str, os.PathLike)) else \
            copy.deepcopy(model)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        from mmseg.registry import MODELS
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmseg')):
            segmentor = MODELS.build(cfg.model)
    if weights:
        from mmengine.runner import load_checkpoint
        load_checkpoint(segmentor, weights, map_location='cpu')
    return segmentor.to(device).eval()


class FGCLIP2OVSegInferencer:
    """Open-vocabulary segmentation of images, vocabulary chosen per call.

    Example::

        inferencer = FGCLIP2OVSegInferencer('projects/fgclip2_ovseg/configs/...py')
        out = inferencer('street.jpg', texts=['car', '行人', 'road, street'],
                         out_file='street_seg.png')
        out['pred']      # (H, W) int64 class indices into out['classes']
        outs = inferencer('photos/', batch_size=8)   # a folder: one dict per image

    Args:
        model (str | Config | nn.Module): Config file / object of an FG-CLIP 2 segmentor,
            or a built segmentor.
        weights (str, optional): Checkpoint of a trained segmentor (head weights).
        device (str): Defaults to ``'cpu'``.
        cfg_options (dict, optional): Overrides merged into the config.
        num_workers (int): Threads that decode images (0: in the calling thread).
            Defaults to 0.
    """

    def __init__(self, model, weights: Optional[str] = None, device: str = 'cpu',
                 cfg_options: Optional[dict] = None, num_workers: int = 0) -> None:
        self.model = build_segmentor(model, weights, device, cfg_options)
        self.device = device
        self.num_workers = int(num_workers)

    @torch.no_grad()  # not inference_mode: the segmentor caches the text embeddings
    def __call__(self,
                 images,
                 texts: Union[None, str, Sequence] = None,
                 language: Optional[str] = None,
                 out_file: Optional[str] = None,
                 alpha: float = 0.5,
                 batch_size: int = 1,
                 out_dir: Optional[str] = None,
                 progress: Optional[bool] = None) -> Union[dict, List[dict]]:
        """Segment one image, a list or a folder.

        Args:
            images (str | Path | PIL.Image | np.ndarray | list): A path, a PIL image or an
                (H, W, 3) / (H, W) uint8 RGB array, a list of them, or a folder (its image
                files by suffix, sorted).
            texts (list | str | dict, optional): Vocabulary for this call (class names in
                any script, ``'a, b'`` synonyms, a class file, ``dict(dataset=...)``);
                None keeps the current one. The segmentor keeps its text embeddings until
                the vocabulary changes, so they are computed once for all images.
            language (str, optional): ``'en'``, ``'zh'`` or ``'en+zh'`` for dataset / dict
                vocabularies.
            out_file (str, optional): Save a colourised overlay with a legend here (one
                image only).
            alpha (float): Overlay opacity. Defaults to 0.5.
            batch_size (int): Most images per forward; only images of one size share a
                batch. Defaults to 1.
            out_dir (str, optional): Save one overlay per image here, named after the file
                (``<index>.png`` for arrays / PIL images).
            progress (bool, optional): Progress bar on stderr (None: for lists over 64).

        Returns:
            dict | list[dict]: Per image (a list for a list or a folder): ``pred`` (H, W)
            int64, ``classes`` (display names), ``probs`` (K, H, W) float32 class
            probabilities, and the :func:`save_overlay` fields when an overlay is saved.
        """
        items, single = as_image_list(images)
        sizes = inspect_images(items)  # every input checked: no model work yet
        check_batch_size(batch_size)
        if out_file is not None and not single:
            raise ValueError('out_file is for one image; pass out_dir= for a list or a '
                             'folder')
        if texts is not None or language is not None:
            self.model.set_vocabulary(texts if texts is not None else self.model.vocabulary(),
                                      language=language)
        outs: List[Optional[dict]] = [None] * len(items)
        bar = Progress(len(items), progress)
        for batch in group_batches(sizes, batch_size):
            rgbs = thread_map(lambda i: load_image(items[i], i), batch, self.num_workers)
            for index, rgb, sample in zip(batch, rgbs, self._segment(rgbs)):
                outs[index] = self._result(sample, rgb, alpha,
                                           out_file if single else
                                           self._overlay_path(out_dir, items[index], index))
            bar.update(len(batch))
        bar.close()
        return outs[0] if single else outs

    def _segment(self, rgbs: List[np.ndarray]) -> list:
        """``test_step`` of equally sized (H, W, 3) RGB images; one data sample each."""
        height, width = rgbs[0].shape[:2]
        meta = dict(ori_shape=(height, width), img_shape=(height, width),
                    pad_shape=(height, width))
        inputs = [torch.from_numpy(np.ascontiguousarray(rgb[..., ::-1])).permute(2, 0, 1)
                  for rgb in rgbs]  # the preprocessor's BGR -> RGB flips them back
        samples = [SegDataSample(metainfo=dict(meta)) for _ in rgbs]
        return self.model.test_step(dict(inputs=inputs, data_samples=samples))

    @staticmethod
    def _overlay_path(out_dir: Optional[str], item, index: int) -> Optional[str]:
        if not out_dir:
            return None
        name = os.path.splitext(os.path.basename(os.fspath(item)))[0] \
            if isinstance(item, (str, os.PathLike)) else f'{index:08d}'
        return os.path.join(out_dir, f'{name}.png')

    def _result(self, sample, rgb: np.ndarray, alpha: float, out_file: Optional[str]) -> dict:
        logits = sample.seg_logits.data.float()
        probs = self.model.apply_background(torch.softmax(logits, dim=0))
        pred = sample.pred_sem_seg.data[0].cpu().numpy().astype(np.int64)
        vocab = self.model.vocabulary()
        lang = self.model.language if self.model.language != 'en+zh' else 'en'
        names: List[str] = vocab.names_in(lang)
        out = dict(pred=pred, classes=names, probs=probs.cpu().numpy())
        if out_file:
            english = vocab.names_in('en')
            fallback = english if english != names else None
            out.update(save_overlay(out_file, rgb, pred, names, alpha=alpha,
                                    fallback_names=fallback))
        return out
