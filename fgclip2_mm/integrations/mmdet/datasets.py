"""COCO / LVIS datasets that keep their annotation file's categories, and the guards that
the detector's vocabulary is in the dataset's label order and that splits go by id.

mmdet gives label ``i`` to the i-th category it keeps from the annotation file: for
``CocoDataset`` the file's categories whose *name* is in ``metainfo['classes']``, in file
order (``CocoDataset.load_data_list``, ``get_cat_ids(cat_names=...)``); for
``LVISV1Dataset`` every category of the file, in file order, whatever the names. The
open-vocabulary detector scores vocabulary entry ``i`` (the metainfo ``classes``) for label
``i``. A training json with only the 48 base categories, a json whose categories are in
another order, or a renamed class therefore shifts labels silently;
:func:`check_label_order` turns that into an error (``FGCLIP2VocabularyHook`` calls it).
"""
from typing import Dict, List, Optional, Sequence

from mmdet.datasets import CocoDataset, LVISV1Dataset
from mmengine.logging import MMLogger

from fgclip2_mm.registry import DATASETS

#: LVIS v1's annotation files spell category 655 ``speaker_(stero_equipment)``; mmdet's
#: ``LVISV1Dataset.METAINFO`` (and our vocabulary) spells it ``speaker_(stereo_equipment)``.
#: Names are compared through this table; splits go by category id
#: (:func:`lvis_base_classes`), never by name.
LVIS_V1_SPELLINGS = {'speaker_(stero_equipment)': 'speaker_(stereo_equipment)'}
#: Largest vocabulary whose names the order error lists in full (larger: the differences).
FULL_LIST_MAX = 100


def _kept_api(attr: str) -> property:
    """A property for mmdet's ``self.coco`` / ``self.lvis``: setting it (mmdet opens the
    annotation file) keeps the file's categories in ``ann_categories``; mmdet's ``del``
    afterwards drops the API object only."""

    def get(self):
        try:
            return self.__dict__[attr]
        except KeyError:
            raise AttributeError(attr) from None

    def set_(self, api):
        self.ann_categories = {
            int(cat['id']): {k: cat[k] for k in ('name', 'frequency') if k in cat}
            for cat in api.cats.values()
        }
        self.__dict__[attr] = api

    def delete(self):
        self.__dict__.pop(attr, None)

    return property(get, set_, delete)


class _KeepsCategories:
    """Mixin: keeps ``ann_categories`` (``{id: {'name', 'frequency'?}}``) of the annotation
    file that mmdet's ``load_data_list`` opens as ``self.coco`` / ``self.lvis`` and deletes
    once the data list is built."""

    ann_categories: Optional[Dict[int, dict]] = None
    coco = _kept_api('_coco_api')
    lvis = _kept_api('_lvis_api')

    def label_names(self) -> List[str]:
        """The annotation file's category names in label order (label i: the i-th)."""
        self.full_init()
        if self.ann_categories is None:
            raise ValueError(f'{type(self).__name__}: no categories kept from {self.ann_file}')
        return [self.ann_categories[int(c)]['name'] for c in self.cat_ids]


@DATASETS.register_module()
class FGCLIP2CocoDataset(_KeepsCategories, CocoDataset):
    """mmdet's ``CocoDataset`` that keeps its file's categories (for
    :func:`check_label_order`). Arguments as ``CocoDataset``'s."""


@DATASETS.register_module()
class FGCLIP2LVISV1Dataset(_KeepsCategories, LVISV1Dataset):
    """mmdet's ``LVISV1Dataset`` that keeps its file's categories (names and
    ``frequency``: the OV-LVIS base split by id). Arguments as ``LVISV1Dataset``'s."""


def base_datasets(dataset) -> list:
    """The datasets under mmengine's wrappers (``ClassBalancedDataset``,
    ``RepeatDataset``: ``.dataset``; ``ConcatDataset``: ``.datasets``)."""
    if hasattr(dataset, 'datasets'):
        return [d for sub in dataset.datasets for d in base_datasets(sub)]
    if hasattr(dataset, 'dataset') and not hasattr(dataset, 'cat_ids'):
        return base_datasets(dataset.dataset)
    return [dataset]


def canonical_name(name: str) -> str:
    """``name`` with the known spelling differences of :data:`LVIS_V1_SPELLINGS` fixed."""
    return LVIS_V1_SPELLINGS.get(name, name)


def _order_error(source: str, ann_file: str, vocabulary: List[str],
                 labels: List[str]) -> ValueError:
    diff = [(i, v, a) for i, (v, a) in enumerate(zip(vocabulary, labels)) if v != a]
    lines = [
        f'{source}: the vocabulary (metainfo "classes", {len(vocabulary)} names) is not in '
        f'the label order of {ann_file} ({len(labels)} categories kept): mmdet gives label '
        'i to the i-th kept category (COCO: the file categories named in "classes", in file '
        'order; LVIS: all, in file order) and the detector scores vocabulary[i] for it.'
    ]
    if diff:
        lines.append('first differences (label: vocabulary / file): ' + '; '.join(
            f'{i}: {v!r} / {a!r}' for i, v, a in diff[:10]))
    if max(len(vocabulary), len(labels)) <= FULL_LIST_MAX:
        lines += [f'vocabulary: {vocabulary}', f'annotation file (label order): {labels}']
    else:
        extra_v = [v for v in vocabulary if v not in set(labels)]
        extra_a = [a for a in labels if a not in set(vocabulary)]
        lines.append(f'only in the vocabulary: {extra_v[:20]}; only in the file: '
                     f'{extra_a[:20]}')
    lines.append('Fix: give the annotation file the same categories in the same order as '
                 'the metainfo classes (keep all categories in a base-only training file, as '
                 'instances_train2017_seen_2_65_cat.json does).')
    return ValueError('\n'.join(lines))


def check_label_order(dataset, classes: Sequence[str], source: str = 'dataset') -> None:
    """Raise unless vocabulary entry ``i`` is the name of the dataset's label ``i``.

    Names are compared after :func:`canonical_name`. Datasets that keep their categories
    (:class:`FGCLIP2CocoDataset`, :class:`FGCLIP2LVISV1Dataset` and subclasses) are
    checked name by name; other mmdet datasets with ``cat_ids`` by count only (a warning
    says the order was not verified); datasets without ``cat_ids`` are not checked.

    Raises:
        ValueError: The lists differ; the message gives both (in full up to
            :data:`FULL_LIST_MAX` names, else the differences).
    """
    vocabulary = [canonical_name(str(c)) for c in classes]
    logger = MMLogger.get_current_instance()
    for sub in base_datasets(dataset):
        if hasattr(sub, 'full_init'):  # lazy datasets set cat_ids when loaded
            sub.full_init()
        if hasattr(sub, 'label_names'):
            labels = [canonical_name(n) for n in sub.label_names()]
            if labels != vocabulary:
                raise _order_error(source, sub.ann_file, vocabulary, labels)
        elif hasattr(sub, 'cat_ids'):
            if len(sub.cat_ids) != len(vocabulary):
                raise _order_error(source, getattr(sub, 'ann_file', '?'), vocabulary,
                                   [f'<category id {c}>' for c in sub.cat_ids])
            logger.warning(f'{source}: {type(sub).__name__} does not keep its category '
                           'names: only the class count was checked against the vocabulary '
                           '(use fgclip2_mm.FGCLIP2CocoDataset / FGCLIP2LVISV1Dataset)')
        else:
            logger.warning(f'{source}: {type(sub).__name__} has no cat_ids: the vocabulary '
                           'order was not checked')


def label_cat_ids(dataset, source: str = 'dataset') -> List[int]:
    """Category ids in label order of a (wrapped) mmdet dataset; all its sub-datasets must
    agree.

    Raises:
        ValueError: No ``cat_ids``, or sub-datasets with different ones.
    """
    ids = None
    for sub in base_datasets(dataset):
        if hasattr(sub, 'full_init'):
            sub.full_init()
        if not hasattr(sub, 'cat_ids'):
            raise ValueError(f'{source}: {type(sub).__name__} has no cat_ids (category ids '
                             'in label order), needed to split classes by category id')
        sub_ids = [int(c) for c in sub.cat_ids]
        if ids is not None and sub_ids != ids:
            raise ValueError(f'{source}: sub-datasets with different category ids')
        ids = sub_ids
    return ids


def lvis_base_classes(categories: Sequence[dict], cat_ids: Sequence[int],
                      classes: Sequence[str], novel: Sequence[str] = ('r', ),
                      source: str = 'annotation file') -> List[str]:
    """The base classes of an LVIS-style split, matched **by category id**.

    Args:
        categories (Sequence[dict]): Categories with ``id`` and ``frequency`` (an LVIS
            file's ``categories``).
        cat_ids (Sequence[int]): The dataset's category ids in label order.
        classes (Sequence[str]): The vocabulary in label order (same length).
        novel (Sequence[str]): Frequencies of the novel classes. Defaults to ``('r',)``:
            OV-LVIS 866 / 337 (F-ViT's ``lvis_v1_seen_classes.json``: the 866 c + f).
        source (str): Named in errors.

    Returns:
        list[str]: ``classes[i]`` for every label whose category is not novel.

    Raises:
        ValueError: A category without ``frequency``, length mismatch, or a dataset
            category missing from ``categories``.
    """
    if len(cat_ids) != len(classes):
        raise ValueError(f'{source}: {len(cat_ids)} dataset categories for {len(classes)} '
                         'vocabulary classes')
    missing = [c.get('name', c.get('id')) for c in categories if 'frequency' not in c]
    if missing:
        raise ValueError(f'{source}: categories without "frequency": {missing[:5]}')
    frequency = {int(c['id']): c['frequency'] for c in categories}
    unknown = [c for c in cat_ids if int(c) not in frequency]
    if unknown:
        raise ValueError(f'{source}: dataset category ids {unknown[:10]} are not in its '
                         'categories (a different LVIS version?)')
    return [name for name, cid in zip(classes, cat_ids) if frequency[int(cid)] not in novel]
