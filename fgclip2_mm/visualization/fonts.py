"""Fonts for labels in any script: does a font draw a text, and where is a CJK font.

matplotlib's default font (DejaVu Sans) has no CJK glyphs, so Chinese labels come out as
empty boxes; :func:`find_cjk_font` finds a system font that has them (Noto Sans CJK, Source
Han, WenQuanYi, Droid Sans Fallback, AR PL, ...).
"""
import functools
import os.path as osp
from typing import Optional

_PROBE = '\u5706\u5f62'  # '圆形'


def draws_text(path: str, text: str) -> bool:
    """True when the font file ``path`` has a glyph for every non-space character of
    ``text`` (False for a file FreeType cannot open)."""
    from matplotlib.ft2font import FT2Font
    try:
        font = FT2Font(path)
    except (OSError, RuntimeError, ValueError):
        return False
    return all(font.get_char_index(ord(ch)) for ch in text if not ch.isspace())


def find_cjk_font(font_path: Optional[str] = None) -> Optional[str]:
    """Path of a font with Chinese glyphs: ``font_path`` if given (checked), else the first
    system font that has them, else None."""
    if font_path is not None:
        if not osp.isfile(font_path) or not draws_text(font_path, _PROBE):
            raise ValueError(f'font_path={font_path!r} is not a font file with Chinese glyphs')
        return font_path
    return _system_cjk_font()


@functools.lru_cache(maxsize=1)
def _system_cjk_font() -> Optional[str]:
    """The first system font with Chinese glyphs (scanned once per process)."""
    from matplotlib import font_manager
    hints = ('cjk', 'han', 'wqy', 'wenquanyi', 'droidsansfallback', 'uming', 'ukai', 'simhei',
             'simsun', 'msyh', 'pingfang', 'heiti', 'notosanssc', 'notoserifsc')
    fonts = sorted(font_manager.findSystemFonts(), key=lambda p: not any(
        h in osp.basename(p).lower().replace('-', '').replace('_', '') for h in hints))
    for path in fonts:
        if draws_text(path, _PROBE):
            return path
    return None
