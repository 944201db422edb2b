"""``DetInferencer`` for the open-vocabulary detector: any vocabulary, English or Chinese.

Inputs (one image, a list or a folder) are checked before any model work: an empty folder,
a missing or non-image file, a float or wrongly shaped array each raise one error naming
the folder, the file or the array's index. Lists are batched without changing results:
mmdet pads a batch to its largest image and the padded border changes the FPN / RPN
outputs near every smaller image's edge, so only images whose *padded* input shape agrees
(after the test pipeline's resize and the preprocessor's ``pad_size_divisor``) share a
batch (:func:`fgclip2_mm.apis.batching.group_batches`).
"""
import copy
import math
import os
from typing import List, Optional, Sequence, Union

import numpy as np
from mmdet.apis import DetInferencer

from fgclip2_mm.apis.batching import Progress, check_batch_size, group_batches, thread_map
from fgclip2_mm.apis.images import as_image_list, inspect_image, is_path
from .hooks import vocabulary_from_metainfo
from .text_embeddings import LANGUAGES
from .utils import parse_vocabulary

TEXT_LANGUAGES = ('auto', 'en', 'zh')
#: Images run through the test pipeline at once (per ``batch_size``) before they are grouped
#: by padded shape; bounds the decoded images held in memory.
WINDOW_BATCHES = 8
FLOAT_HINT = ('mmdet reads arrays as cv2.imread gives them (uint8 BGR, 0-255) and would take '
              'float values as 0-255 intensities, so [0, 1] floats would come out black; pass '
              'uint8 BGR, e.g. (img * 255).round().astype(np.uint8) for [0, 1] floats')


def check_det_input(source, index: int = 0):
    """One inferencer input: an image path (str / Path, returned as str) or an (H, W, 3)
    uint8 BGR array (mmdet's convention). Raises before any model work.

    Raises:
        FileNotFoundError: A path that is not a file.
        ValueError: A file that is not an image, a float / non-uint8 / wrongly shaped array.
        TypeError: Anything else.
    """
    if is_path(source):
        inspect_image(source, index)  # names the file; reads its header only
        return os.fspath(source)
    if isinstance(source, np.ndarray):
        if np.issubdtype(source.dtype, np.floating):
            raise ValueError(f'image {index}: {source.dtype} array; {FLOAT_HINT}')
        if source.dtype != np.uint8:
            raise ValueError(f'image {index}: {source.dtype} array; expected uint8 BGR '
                             '(0-255); scale other integer types to 8 bits first')
        if source.ndim != 3 or source.shape[2] != 3 or not source.shape[0] or \
                not source.shape[1]:
            raise ValueError(f'image {index}: array of shape {source.shape}; expected '
                             '(H, W, 3) uint8 BGR')
        return source
    raise TypeError(f'image {index}: expected an image path (str / pathlib.Path) or an '
                    f'(H, W, 3) uint8 BGR array, got {type(source).__name__}')


class FGCLIP2OVDetInferencer(DetInferencer):
    """mmdet's ``DetInferencer`` whose classes are free texts (vocabulary swapped in place).

    Example::

        inferencer = FGCLIP2OVDetInferencer('projects/fgclip2_ovdet/configs/...py',
                                            weights='work_dirs/.../epoch_3.pth',
                                            texts='红色的圆形 . blue square')
        inferencer('demo.jpg', out_dir='outputs')            # visualised + predictions
        inferencer('demo.jpg', texts='heart . crescent')     # another vocabulary

    Args:
        model (str | Config, optional): Detector config (file, ``Config`` or metafile name),
            as for ``DetInferencer``; may be None when ``weights`` holds the config.
        weights (str, optional): Detector checkpoint.
        texts (str | Sequence[str], optional): The vocabulary: ``'a . b'`` or a list of
            names. None: the checkpoint's dataset classes, else the config's test metainfo.
        language (str): Templates for ``texts``: ``'auto'`` (per name: Chinese templates
            for names with a CJK character), ``'en'`` or ``'zh'``. Defaults to ``'auto'``.
        device (str, optional): Device. Defaults to None (mmdet's choice).
        palette (str): Visualisation palette (``'random'`` for free vocabularies).
            Defaults to ``'random'``.
        show_progress (bool, optional): Progress bar on stderr; None: for lists of more
            than 64 images. Defaults to None.
        num_workers (int): Threads that decode and run the test pipeline (0: in the calling
            thread). Defaults to 0.
    """

    def __init__(self,
                 model=None,
                 weights: Optional[str] = None,
                 texts: Union[str, Sequence[str], None] = None,
                 language: str = 'auto',
                 device: Optional[str] = None,
                 palette: str = 'random',
                 show_progress: Optional[bool] = None,
                 num_workers: int = 0) -> None:
        if language not in TEXT_LANGUAGES:
            raise ValueError(f'language={language!r} is not supported for texts, expected one '
                             f'of {TEXT_LANGUAGES}')
        self.language = language
        self._pending_texts = texts
        super().__init__(model=model, weights=weights, device=device, scope='mmdet',
                         palette=palette, show_progress=bool(show_progress))
        self.show_progress = show_progress
        self.num_workers = int(num_workers)
        if texts is not None:
            self.set_vocabulary(texts)
        self._pending_texts = None

    def _load_weights_to_model(self, model, checkpoint, cfg) -> None:
        """mmdet's loading, then the initial vocabulary (unless ``texts`` was given)."""
        super()._load_weights_to_model(model, checkpoint, cfg)
        if self._pending_texts is not None:
            return
        meta = ((checkpoint or {}).get('meta') or {}).get('dataset_meta')
        if not meta:
            meta = cfg.test_dataloader.dataset.get('metainfo')
        if not meta:
            # a dataset whose metainfo comes from its annotation file (the synthetic world's
            # FGCLIP2SyntheticDetDataset): built lazily, so no annotation is parsed twice
            from mmdet.registry import DATASETS
            dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
            dataset_cfg['lazy_init'] = True
            meta = dict(DATASETS.build(dataset_cfg).metainfo)
            meta = meta if meta.get('classes') else None
        if not meta:
            raise ValueError('no vocabulary: pass texts=..., or use a config whose '
                             'test_dataloader.dataset has metainfo=dict(classes=...)')
        vocab = vocabulary_from_metainfo(meta, 'checkpoint / config')
        model.set_vocabulary(**vocab)
        palette = model.dataset_meta.get('palette', self.palette)
        model.dataset_meta = dict(copy.deepcopy(dict(meta)), palette=palette)

    def set_vocabulary(self, texts: Union[str, Sequence[str]],
                       language: Optional[str] = None) -> list:
        """Use ``texts`` (``'a . b'`` or a list of names) as the classes; returns the names.
        Embeddings are cached on disk by the box head, so a repeated vocabulary is free."""
        names = parse_vocabulary(texts)
        language = language or self.language
        if language not in TEXT_LANGUAGES:
            raise ValueError(f'language={language!r} is not supported for texts, expected one '
                             f'of {TEXT_LANGUAGES} (other choices: {LANGUAGES} need paired '
                             'English and Chinese names; use model.set_vocabulary)')
        zh = names if language == 'zh' else None
        self.model.set_vocabulary(names, classes_zh=zh, language=language)
        palette = self.palette if self.palette != 'none' else 'random'
        self.model.dataset_meta = dict(classes=tuple(names), palette=palette)
        if getattr(self, 'visualizer', None) is not None:
            self.visualizer.dataset_meta = self.model.dataset_meta
        return names

    def _inputs_to_list(self, inputs) -> list:
        """One image, a list or a folder (its image files by suffix, sorted) as a list of
        checked inputs (see :func:`check_det_input`); raises before any model work."""
        items, _ = as_image_list(inputs)  # an empty list / folder: ValueError naming it
        return [check_det_input(item, index) for index, item in enumerate(items)]

    def _pad_key(self, data: dict) -> tuple:
        """Shape the data preprocessor pads one packed input to (alone in its batch)."""
        divisor = int(getattr(self.model.data_preprocessor, 'pad_size_divisor', 1) or 1)
        height, width = data['inputs'].shape[-2:]
        return (math.ceil(height / divisor) * divisor, math.ceil(width / divisor) * divisor)

    def _load(self, source, index: int) -> dict:
        """The test pipeline on one checked input; a file whose header reads but whose
        pixels do not decode (truncated, damaged) raises an OSError naming it."""
        try:
            return self.pipeline(source)
        except (AssertionError, OSError, ValueError) as err:  # mmcv asserts on a bad decode
            if not isinstance(source, str):
                raise
            raise OSError(f'image {index} ({source!r}): cannot decode the image file '
                          f'(truncated or damaged): {err}') from err

    def preprocess(self, inputs: list, batch_size: int = 1, **kwargs):
        """Batches of equal padded shape (so each result equals the one-by-one result).

        Images go through the test pipeline a window of ``WINDOW_BATCHES * batch_size`` at a
        time (``num_workers`` threads), then are grouped by :meth:`_pad_key`.

        Yields:
            tuple: ``(indices, (original inputs, collated data))`` per batch.
        """
        check_batch_size(batch_size)
        window = WINDOW_BATCHES * batch_size
        for start in range(0, len(inputs), window):
            chunk = inputs[start:start + window]
            packed = thread_map(lambda i: self._load(chunk[i], start + i), range(len(chunk)),
                                self.num_workers)
            for batch in group_batches([self._pad_key(p) for p in packed], batch_size):
                yield ([start + i for i in batch],
                       self.collate_fn([(chunk[i], packed[i]) for i in batch]))

    def __call__(self,
                 inputs,
                 texts: Union[str, Sequence[str], None] = None,
                 batch_size: int = 1,
                 return_vis: bool = False,
                 show: bool = False,
                 wait_time: int = 0,
                 no_save_vis: bool = False,
                 draw_pred: bool = True,
                 pred_score_thr: float = 0.3,
                 return_datasamples: bool = False,
                 print_result: bool = False,
                 no_save_pred: bool = True,
                 out_dir: str = '') -> dict:
        """Detect the vocabulary's classes in one image, a list or a folder.

        As ``DetInferencer.__call__``, with one vocabulary for all inputs and batches of
        equal padded shape (a batch never mixes shapes, so results do not depend on
        ``batch_size``); outputs keep the order of the inputs, and array inputs are saved
        as ``<input index>.jpg`` / ``.json``.

        Args:
            inputs (str | Path | np.ndarray | list): Image paths, (H, W, 3) uint8 BGR arrays,
                a list of them or a folder.
            texts (str | Sequence[str], optional): Replaces the vocabulary first.
            batch_size (int): Most images per forward. Defaults to 1.
            return_vis, show, wait_time, no_save_vis, draw_pred, pred_score_thr,
                return_datasamples, print_result, no_save_pred, out_dir: as for
                ``DetInferencer.__call__``.

        Returns:
            dict: ``predictions`` (one per input) and ``visualization`` (one per input when
            drawn, else empty).
        """
        ori_inputs = self._inputs_to_list(inputs)  # every input checked: no model work yet
        check_batch_size(batch_size)
        if texts is not None:
            self.set_vocabulary(texts)
        predictions: List = [None] * len(ori_inputs)
        visuals: List = [None] * len(ori_inputs)
        first_vis, first_pred = self.num_visualized_imgs, self.num_predicted_imgs
        bar = Progress(len(ori_inputs), self.show_progress)
        for indices, (ori_imgs, data) in self.preprocess(ori_inputs, batch_size):
            preds = self.forward(data)
            for index, image, pred in zip(indices, ori_imgs, preds):
                # counters name array inputs: set them to the input's index
                self.num_visualized_imgs = first_vis + index
                self.num_predicted_imgs = first_pred + index
                vis = self.visualize([image], [pred], return_vis=return_vis, show=show,
                                     wait_time=wait_time, draw_pred=draw_pred,
                                     pred_score_thr=pred_score_thr, no_save_vis=no_save_vis,
                                     img_out_dir=out_dir)
                out = self.postprocess([pred], vis, return_datasamples=return_datasamples,
                                       print_result=print_result, no_save_pred=no_save_pred,
                                       pred_out_dir=out_dir)
                predictions[index] = out['predictions'][0]
                visuals[index] = None if out['visualization'] is None else \
                    out['visualization'][0]
            bar.update(len(indices))
        bar.close()
        self.num_visualized_imgs = first_vis + len(ori_inputs)
        self.num_predicted_imgs = first_pred + len(ori_inputs)
        return dict(predictions=predictions,
                    visualization=[v for v in visuals if v is not None])
