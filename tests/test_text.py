"""fgclip2_mm.text: one CJK test and one cache default for evaluation and both hosts."""
import os.path as osp

import pytest

from fgclip2_mm.text.embeddings import TextEmbeddingCache
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


def test_every_built_in_template_set_loads_with_one_name_each():
    from fgclip2_mm.text import ARTICLE, load_templates, template_sets
    sets = template_sets()
    assert {'imagenet_en', 'imagenet_zh', 'plain', 'ovd_en', 'ovd_zh', 'vild_en', 'seg_en',
            'seg_zh', 'synthetic_bare_en', 'synthetic_bare_zh', 'synthetic_mixed_en',
            'synthetic_mixed_zh', 'synthetic_size_en', 'synthetic_size_zh',
            'synthetic_attr_en', 'synthetic_attr_zh'} == set(sets)
    for name in sets:
        templates = load_templates(name, placeholders=(ARTICLE, ))
        assert templates and all(t.count('{}') == 1 for t in templates), name
    assert load_templates('synthetic_bare_en') == ['a {}']
    assert load_templates('synthetic_bare_zh') == ['{}']
    assert len(load_templates('synthetic_attr_en')) == 132
    assert len(load_templates('vild_en', placeholders=(ARTICLE, ))) == 63


@pytest.mark.parametrize('old,hint', [('none', "'plain'"),
                                      ('synthetic_en', "'synthetic_bare_en'.*'synthetic_mixed_en'"
                                                       ".*'synthetic_size_en'"),
                                      ('synthetic_zh', ".*'synthetic_size_zh'")])
def test_retired_names_say_what_to_use(old, hint):
    from fgclip2_mm.text import load_templates
    with pytest.raises(ValueError, match=f'{old!r} is retired.*use {hint}'):
        load_templates(old)


def test_braced_fields_other_than_the_allowed_ones_are_refused():
    from fgclip2_mm.text import ARTICLE, load_templates
    with pytest.raises(ValueError, match=r'only "\{\}" \(the name\) may be in braces'):
        load_templates(['{article} {}'])  # evaluation and mmseg fill only the name
    assert load_templates(['{article} {}'], placeholders=(ARTICLE, )) == ['{article} {}']
    with pytest.raises(ValueError, match='exactly one'):
        load_templates(['a {} {}'])
    with pytest.raises(ValueError, match='no template'):
        load_templates([])


def test_hosts_load_the_same_sets():
    pytest.importorskip('mmdet')
    pytest.importorskip('mmseg')
    from fgclip2_mm.integrations.mmdet import load_templates as det_load
    from fgclip2_mm.integrations.mmseg import load_templates as seg_load
    from fgclip2_mm.text import load_templates
    assert seg_load is load_templates
    assert det_load('seg_en') == load_templates('seg_en')
    assert det_load('vild_en') == load_templates('vild_en', placeholders=('{article}', ))
