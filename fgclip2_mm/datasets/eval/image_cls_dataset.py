"""``FGCLIP2ImageClsDataset``: zero-shot image classification (spec §6.1)."""
import os
import os.path as osp
from typing import List, Optional, Sequence, Union

from fgclip2_mm.registry import DATASETS
from .base import FGCLIP2EvalDataset

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.JPEG')


def read_class_names(path: str) -> List[str]:
    """Class names, one per line in label order (blank lines are an error)."""
    with open(path, encoding='utf-8') as f:
        names = [line.rstrip('\n').rstrip('\r') for line in f]
    while names and not names[-1].strip():
        names.pop()
    blank = [n + 1 for n, name in enumerate(names) if not name.strip()]
    if not names or blank:
        raise ValueError(f'{path}: one class name per line, no blank lines (blank: {blank})')
    return [name.strip() for name in names]


@DATASETS.register_module()
class FGCLIP2ImageClsDataset(FGCLIP2EvalDataset):
    """ImageNet-style zero-shot classification: top-1 / top-5 over class prompts.

    Two layouts:

    * list file (``ann_file``): lines ``relative/path.jpg label_index`` (split at the last
      whitespace), paths relative to ``data_prefix['img_path']``;
    * class-folder tree (``ann_file=''``): ``data_prefix['img_path']/<class>/<image>``;
      labels follow the sorted folder names (numerically when all are integers, as
      ImageNet-v2's ``0`` ... ``999``); the class names default to the folder names.

    Class names (label order): a list, a ``.txt`` file with one name per line, or
    ``'synthetic'`` (the synthetic world's shape names in ``lang``, read from its
    ``world_meta.json``). A class weight is the
    normalised mean of the normalised embeddings of its prompts (short walk, 64 tokens).

    Args:
        ann_file (str): List file, or ``''`` for a folder tree.
        classes (str | Sequence[str], optional): See above (required for a list file).
        templates (str | Sequence[str]): Defaults to ``'imagenet_en'`` (80 CLIP templates).
        text_walk (str): Defaults to ``'short'``.
        **kwargs: See :class:`FGCLIP2EvalDataset`.
    """

    TASK = 'image_cls'
    TASK_KEYS = ('gt_label', )

    def __init__(self,
                 ann_file: str = '',
                 classes: Optional[Union[str, Sequence[str]]] = None,
                 templates: Union[str, Sequence[str]] = 'imagenet_en',
                 text_walk: str = 'short',
                 **kwargs) -> None:
        self._classes_arg = classes
        super().__init__(ann_file, templates=templates, text_walk=text_walk, **kwargs)

    def _class_names(self, folders: Optional[List[str]]) -> List[str]:
        classes = self._classes_arg
        if classes is None:
            if folders is None:
                raise ValueError('FGCLIP2ImageClsDataset: a list file needs classes=<list, '
                                 '.txt file or "synthetic">')
            return folders
        if classes == 'synthetic':  # the world's classes, from its world_meta.json
            from fgclip2_mm.synthetic_world.world_info import read_world_meta
            # the list file sits in <world>/annotations/ when data_root is not given
            meta = read_world_meta(self.data_root or osp.dirname(osp.dirname(self.ann_file)))
            return list(meta['classes'] if self.lang == 'en' else meta['classes_zh'])
        if isinstance(classes, str):
            return read_class_names(classes)
        return [str(c) for c in classes]

    def _from_list(self) -> List[dict]:
        data_list, source = [], osp.basename(self.ann_file)
        with open(self.ann_file, encoding='utf-8') as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                parts = line.strip().rsplit(None, 1)
                if len(parts) != 2 or not parts[1].lstrip('-').isdigit():
                    raise ValueError(f'{source}:{number}: expected "path label_index", got '
                                     f'{line.strip()!r}')
                data_list.append(dict(img_path=osp.join(self.data_prefix['img_path'], parts[0]),
                                      gt_label=int(parts[1]), line=number))
        return data_list

    def _from_folders(self) -> tuple:
        root = self.data_prefix['img_path']
        folders = sorted(d for d in os.listdir(root) if osp.isdir(osp.join(root, d)))
        if folders and all(d.isdigit() for d in folders):  # ImageNet-v2: folders '0'..'999'
            folders = sorted(folders, key=int)
        data_list = []
        for label, folder in enumerate(folders):
            for name in sorted(os.listdir(osp.join(root, folder))):
                if name.endswith(IMAGE_EXTENSIONS):
                    data_list.append(dict(img_path=osp.join(root, folder, name), gt_label=label))
        return data_list, folders

    def load_data_list(self) -> List[dict]:
        """Read the list file or walk the folder tree; labels are checked against the
        class names."""
        if not self.ann_file:
            data_list, folders = self._from_folders()
        elif osp.isfile(self.ann_file):
            data_list, folders = self._from_list(), None
        else:
            raise FileNotFoundError(f'FGCLIP2ImageClsDataset: list file not found: '
                                    f'{self.ann_file!r}')
        classes = self._class_names(folders)
        self.set_classes(classes)
        bad = [d for d in data_list if not 0 <= d['gt_label'] < len(classes)]
        if bad:
            where = f'line {bad[0].get("line")}' if 'line' in bad[0] else bad[0]['img_path']
            raise ValueError(f'{osp.basename(self.ann_file) or "folder tree"} {where}: label '
                             f'{bad[0]["gt_label"]} outside [0, {len(classes)}) '
                             f'({len(bad)} such records)')
        self._log(f'{type(self).__name__}: {len(data_list)} images, {len(classes)} classes')
        return data_list
