"""Runner hook that gives the detector the vocabulary of the dataset it is about to see."""
import json
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.model import is_model_wrapper

from fgclip2_mm.registry import HOOKS
from .datasets import base_datasets, check_label_order, label_cat_ids, lvis_base_classes


def vocabulary_from_metainfo(metainfo: dict, source: str = 'dataset') -> dict:
    """``set_vocabulary`` arguments from a dataset metainfo (``classes`` required;
    ``classes_zh`` and ``base_classes`` when present)."""
    if not metainfo or not metainfo.get('classes'):
        raise ValueError(f'{source} metainfo has no "classes": the open-vocabulary detector '
                         'takes its vocabulary from it (set metainfo=dict(classes=...))')
    vocab = dict(classes=list(metainfo['classes']))
    for key in ('classes_zh', 'base_classes'):
        if metainfo.get(key) is not None:
            vocab[key] = list(metainfo[key])
    return vocab


@HOOKS.register_module()
class FGCLIP2VocabularyHook(Hook):
    """Set the detector's vocabulary from the train / val / test dataset metainfo.

    ``before_train`` uses the training set (its ``base_classes``, when given, are the only
    supervised classes), ``before_val`` / ``before_test`` the evaluation set (so a test-time
    vocabulary swap is a dataset ``metainfo`` change), and ``after_val`` restores the
    training vocabulary. The embeddings come from the box head's disk cache after the
    first time. Chinese / bilingual vocabularies use the head's ``language``.

    Each time, the vocabulary is checked against the dataset's label order
    (:func:`~fgclip2_mm.integrations.mmdet.datasets.check_label_order`): a json whose
    categories differ from the metainfo ``classes`` (a 48-category OV-COCO training file, a
    reordered or renamed category) raises instead of shifting every label.

    Args:
        language (str, optional): Override the box head's language. Defaults to None.
        classes_zh_file (str, optional): Chinese names, one per line in the order of the
            dataset's ``classes``, for datasets whose metainfo has no ``classes_zh`` (e.g.
            LVIS). Defaults to None.
        base_from_frequency (dict, optional): For datasets whose metainfo has no
            ``base_classes`` (LVIS): ``dict(ann_file=..., novel=('r', ))`` makes every
            class whose category in that LVIS-style file has a ``frequency`` not in
            ``novel`` a base class (OV-LVIS: the 866 common + frequent classes). Matched
            by **category id** against the dataset's ``cat_ids`` (names differ: LVIS files
            spell ``speaker_(stero_equipment)``, mmdet ``speaker_(stereo_equipment)``).
            Without ``ann_file`` the dataset's own categories are used (an
            ``FGCLIP2LVISV1Dataset``). Defaults to None.
        check_order (bool): Check the vocabulary against the dataset's label order.
            Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, language: Optional[str] = None,
                 classes_zh_file: Optional[str] = None,
                 base_from_frequency: Optional[dict] = None,
                 check_order: bool = True) -> None:
        self.language = language
        self.classes_zh_file = classes_zh_file
        if base_from_frequency is not None:
            unknown = sorted(set(base_from_frequency) - {'ann_file', 'novel'})
            if unknown:
                raise ValueError(f'base_from_frequency takes ann_file and novel, got {unknown}')
        self.base_from_frequency = base_from_frequency
        self.check_order = check_order
        self._categories = None
        self._train_vocab = None

    def _frequency_base(self, dataset, classes: list, name: str) -> list:
        """Base classes of ``dataset`` by category id (see ``base_from_frequency``)."""
        ann_file = self.base_from_frequency.get('ann_file')
        novel = tuple(self.base_from_frequency.get('novel', ('r', )))
        if ann_file is None:
            subs = base_datasets(dataset)
            cats = getattr(subs[0], 'ann_categories', None)
            if cats is None:
                raise ValueError(f'base_from_frequency without ann_file needs the {name} '
                                 'dataset to keep its categories (fgclip2_mm.'
                                 f'FGCLIP2LVISV1Dataset), got {type(subs[0]).__name__}')
            categories, source = [dict(c, id=i) for i, c in cats.items()], subs[0].ann_file
        else:
            if self._categories is None:  # read once: an LVIS file is large
                with open(ann_file, encoding='utf-8') as f:
                    self._categories = json.load(f)['categories']
            categories, source = self._categories, ann_file
        base = lvis_base_classes(categories, label_cat_ids(dataset, f'{name} dataset'),
                                 classes, novel, source)
        MMLogger.get_current_instance().info(
            f'FGCLIP2VocabularyHook: {len(base)} base classes of {len(classes)} (category '
            f'frequency not in {novel}, matched by id in {source})')
        return base

    def _classes_zh(self, classes: list) -> list:
        with open(self.classes_zh_file, encoding='utf-8') as f:
            names = [line.strip() for line in f if line.strip()]
        if len(names) != len(classes):
            raise ValueError(f'{self.classes_zh_file}: {len(names)} Chinese names for '
                             f'{len(classes)} classes (one name per line, in class order)')
        return names

    @staticmethod
    def _detector(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'set_vocabulary'):
            raise ValueError(f'FGCLIP2VocabularyHook needs a model with set_vocabulary(), '
                             f'got {type(model).__name__}')
        return model

    def _apply(self, runner, dataloader, name: str) -> dict:
        dataset = dataloader.dataset
        vocab = vocabulary_from_metainfo(dataset.metainfo, f'{name} dataset')
        if self.check_order:
            check_label_order(dataset, vocab['classes'], f'{name} dataset')
        if 'classes_zh' not in vocab and self.classes_zh_file is not None:
            vocab['classes_zh'] = self._classes_zh(vocab['classes'])
        if 'base_classes' not in vocab and self.base_from_frequency is not None:
            vocab['base_classes'] = self._frequency_base(dataset, vocab['classes'], name)
        if self.language is not None:
            vocab['language'] = self.language
        model = self._detector(runner)
        model.set_vocabulary(**vocab)
        MMLogger.get_current_instance().info(
            f'FGCLIP2VocabularyHook: {len(vocab["classes"])} {name} classes')
        return vocab

    def before_train(self, runner) -> None:
        self._train_vocab = self._apply(runner, runner.train_loop.dataloader, 'train')

    def before_val(self, runner) -> None:
        self._apply(runner, runner.val_loop.dataloader, 'val')

    def after_val(self, runner) -> None:
        if self._train_vocab is not None:
            self._detector(runner).set_vocabulary(**self._train_vocab)

    def before_test(self, runner) -> None:
        self._apply(runner, runner.test_loop.dataloader, 'test')
