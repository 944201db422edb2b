"""``DetInferencer`` for the open-vocabulary detector: any vocabulary, English or Chinese."""
import copy
from typing import Optional, Sequence, Union

from mmdet.apis import DetInferencer

from .hooks import vocabulary_from_metainfo
from .text_embeddings import LANGUAGES
from .utils import parse_vocabulary

TEXT_LANGUAGES = ('auto', 'en', 'zh')


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
        show_progress (bool): Progress bar. Defaults to False.
    """

    def __init__(self,
                 model=None,
                 weights: Optional[str] = None,
                 texts: Union[str, Sequence[str], None] = None,
                 language: str = 'auto',
                 device: Optional[str] = None,
                 palette: str = 'random',
                 show_progress: bool = False) -> None:
        if language not in TEXT_LANGUAGES:
            raise ValueError(f'language={language!r} is not supported for texts, expected one '
                             f'of {TEXT_LANGUAGES}')
        self.language = language
        self._pending_texts = texts
        super().__init__(model=model, weights=weights, device=device, scope='mmdet',
                         palette=palette, show_progress=show_progress)
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

    def __call__(self, inputs, texts: Union[str, Sequence[str], None] = None, **kwargs) -> dict:
        """Run ``DetInferencer.__call__``; ``texts`` (one vocabulary for all inputs)
        replaces the current vocabulary first. See ``DetInferencer.__call__`` for the
        other arguments (``out_dir``, ``pred_score_thr``, ``return_datasamples``, ...)."""
        if texts is not None:
            self.set_vocabulary(texts)
        return super().__call__(inputs, **kwargs)
