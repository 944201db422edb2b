"""mmdet's ``DetLocalVisualizer`` with Chinese labels (a CJK font when there is one).

matplotlib's default font (DejaVu Sans) has no CJK glyphs, so Chinese class names come out
as empty boxes. This visualizer looks for a font that can draw Chinese (``font_path``, or
the system fonts: Noto Sans CJK, Source Han, WenQuanYi, Droid Sans Fallback, AR PL, ...)
and draws every label with it. Without one, a Chinese name is replaced by its English name
when the dataset metainfo pairs them (``classes_en`` aligned with ``classes``, or
``classes`` / ``classes_zh``), else by ``'class <index>'`` (the log says so once).
"""
from typing import List, Optional

import numpy as np
from mmdet.visualization import DetLocalVisualizer
from mmengine.logging import MMLogger

from fgclip2_mm.registry import VISUALIZERS
from fgclip2_mm.visualization.fonts import find_cjk_font
from .utils import contains_cjk

__all__ = ['FGCLIP2DetLocalVisualizer', 'find_cjk_font']


@VISUALIZERS.register_module()
class FGCLIP2DetLocalVisualizer(DetLocalVisualizer):
    """``DetLocalVisualizer`` that can label boxes in Chinese (see the module docstring).

    Args:
        name (str): Instance name (mmengine's ``ManagerMixin``). Defaults to
            ``'visualizer'``.
        font_path (str, optional): A font file with Chinese glyphs. Defaults to None
            (search the system fonts).
        **kwargs: :class:`mmdet.visualization.DetLocalVisualizer` arguments.
    """

    def __init__(self, name: str = 'visualizer', font_path: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.font_path = find_cjk_font(font_path)
        self._warned = False

    def display_classes(self, classes: Optional[List[str]]) -> Optional[List[str]]:
        """The label texts: the names themselves, or fallbacks for Chinese names when no
        CJK font is available."""
        if classes is None or self.font_path is not None:
            return classes
        meta = self.dataset_meta or {}
        if meta.get('classes_en'):  # English names aligned with the drawn classes
            english = dict(zip(meta.get('classes') or (), meta['classes_en']))
        else:
            english = dict(zip(meta.get('classes_zh') or (), meta.get('classes') or ()))
        shown = []
        for i, name in enumerate(classes):
            if contains_cjk(name):
                shown.append(english.get(name, f'class {i}'))
            else:
                shown.append(name)
        if shown != list(classes) and not self._warned:
            self._warned = True
            MMLogger.get_current_instance().warning(
                'no font with Chinese glyphs found: Chinese labels are drawn as their '
                'English names or "class <index>" (pass font_path=... to the visualizer)')
        return shown

    def _draw_instances(self, image: np.ndarray, instances, classes, palette):
        return super()._draw_instances(image, instances, self.display_classes(classes),
                                       palette)

    def draw_texts(self, texts, positions, *args, **kwargs):
        """``Visualizer.draw_texts`` with the CJK font (when found) for every text."""
        if self.font_path is not None and kwargs.get('font_properties') is None:
            from matplotlib.font_manager import FontProperties
            kwargs['font_properties'] = FontProperties(fname=self.font_path)
        return super().draw_texts(texts, positions, *args, **kwargs)
