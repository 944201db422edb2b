"""``FGCLIP2OVSegInferencer``: segment images with any English / Chinese vocabulary."""
import copy
import os
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmseg.structures import SegDataSample
from PIL import Image

from .visualization import save_overlay


def _read_rgb(image) -> np.ndarray:
    if isinstance(image, (str, os.PathLike)):
        if not osp.isfile(image):
            raise ValueError(f'image not found: {image!r}')
        with Image.open(image) as img:
            return np.asarray(img.convert('RGB'))
    if isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3:
        return image.astype(np.uint8)
    if hasattr(image, 'convert'):
        return np.asarray(image.convert('RGB'))
    raise ValueError(f'expected an image path, a PIL image or an (H, W, 3) RGB array, got '
                     f'{type(image).__name__}')


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
    """Open-vocabulary segmentation of single images, vocabulary chosen per call.

    Example::

        inferencer = FGCLIP2OVSegInferencer('projects/fgclip2_ovseg/configs/...py')
        out = inferencer('street.jpg', texts=['car', '行人', 'road, street'],
                         out_file='street_seg.png')
        out['pred']      # (H, W) int64 class indices into out['classes']

    Args:
        model (str | Config | nn.Module): Config file / object of an FG-CLIP 2 segmentor,
            or a built segmentor.
        weights (str, optional): Checkpoint of a trained segmentor (head weights).
        device (str): Defaults to ``'cpu'``.
        cfg_options (dict, optional): Overrides merged into the config.
    """

    def __init__(self, model, weights: Optional[str] = None, device: str = 'cpu',
                 cfg_options: Optional[dict] = None) -> None:
        self.model = build_segmentor(model, weights, device, cfg_options)
        self.device = device

    @torch.no_grad()
    def __call__(self,
                 image,
                 texts: Union[None, str, Sequence] = None,
                 language: Optional[str] = None,
                 out_file: Optional[str] = None,
                 alpha: float = 0.5) -> dict:
        """Segment one image.

        Args:
            image (str | PIL.Image | np.ndarray): Path or RGB image.
            texts (list | str | dict, optional): Vocabulary for this call (class names in
                any script, ``'a, b'`` synonyms, a class file, ``dict(dataset=...)``);
                None keeps the current one.
            language (str, optional): ``'en'``, ``'zh'`` or ``'en+zh'`` for dataset / dict
                vocabularies.
            out_file (str, optional): Save a colourised overlay with a legend here.
            alpha (float): Overlay opacity. Defaults to 0.5.

        Returns:
            dict: ``pred`` (H, W) int64, ``classes`` (display names), ``probs`` (K, H, W)
            float32 class probabilities, and the :func:`save_overlay` fields when
            ``out_file`` is given.
        """
        if texts is not None or language is not None:
            self.model.set_vocabulary(texts if texts is not None else self.model.vocabulary(),
                                      language=language)
        rgb = _read_rgb(image)
        height, width = rgb.shape[:2]
        bgr = torch.from_numpy(np.ascontiguousarray(rgb[..., ::-1])).permute(2, 0, 1)
        meta = dict(ori_shape=(height, width), img_shape=(height, width),
                    pad_shape=(height, width))
        data = dict(inputs=[bgr], data_samples=[SegDataSample(metainfo=meta)])
        sample = self.model.test_step(data)[0]
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
