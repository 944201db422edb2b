"""fgclip2_mm.text: one CJK test and one cache default for evaluation and both hosts."""
import os.path as osp

import pytest

from fgclip2_mm.evaluation.text_embeddings import TextEmbeddingCache
from fgclip2_mm.text import CACHE_ENV, contains_cjk, default_cache_dir


@pytest.mark.parametrize('text,expected', [
    ('red circle', False), ('红色的圆', True), ('circle（red）', True), ('a，b', True),
    ('café', False), ('', False), ('ＡＢＣ', True)])
def test_contains_cjk(text, expected):
    assert contains_cjk(text) is expected


def test_cache_default_reads_the_environment_at_call_time(monkeypatch, tmp_path):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    assert default_cache_dir() == osp.join(osp.expanduser('~'), '.cache', 'fgclip2_mm',
                                           'text_embeddings')
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert default_cache_dir() == str(tmp_path / 'text_embeddings')
    assert TextEmbeddingCache().cache_dir == str(tmp_path / 'text_embeddings')
    assert TextEmbeddingCache(None).cache_dir is None
    assert TextEmbeddingCache(str(tmp_path / 'x')).cache_dir == str(tmp_path / 'x')


def test_both_hosts_use_the_same_helpers(monkeypatch, tmp_path):
    pytest.importorskip('mmdet')
    pytest.importorskip('mmseg')
    from fgclip2_mm.integrations.mmdet import text_embeddings as det_text
    from fgclip2_mm.integrations.mmdet import utils as det_utils
    from fgclip2_mm.integrations.mmseg import utils as seg_utils
    from fgclip2_mm.integrations.mmseg.text_embeddings import ClassTextEmbedder
    assert det_utils.contains_cjk is seg_utils.contains_cjk is contains_cjk
    assert det_text.default_cache_dir is default_cache_dir
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert ClassTextEmbedder().cache.cache_dir == str(tmp_path / 'text_embeddings')
