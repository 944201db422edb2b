"""Which script a text is written in (the one CJK test of the package)."""
import re

#: CJK punctuation, CJK Unified Ideographs (+ extension A), compatibility ideographs and the
#: full-width forms (``（``, ``，``, full-width Latin) that Chinese text is typed with.
CJK_PATTERN = re.compile('[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]')


def contains_cjk(text: str) -> bool:
    """True when ``text`` holds a Chinese (CJK) character or full-width punctuation."""
    return bool(CJK_PATTERN.search(text))
