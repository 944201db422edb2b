"""Vocabularies (synonyms, class files, datasets, EN / ZH / both), templates and the
disk-cached class text embeddings of the mmseg glue."""
import os

import pytest
import torch

pytest.importorskip('mmseg')

from fgclip2_mm.text.tokenization import FGCLIP2Tokenizer  # noqa: E402
from fgclip2_mm.integrations.mmseg.testing import (synthetic_world,  # noqa: E402
                                                   write_tiny_checkpoint)
from fgclip2_mm.integrations.mmseg.text_embeddings import ClassTextEmbedder  # noqa: E402
from fgclip2_mm.integrations.mmseg.vocabulary import (ClassVocabulary,  # noqa: E402
                                                      display_names, load_templates,
                                                      read_class_file, resolve_vocabulary,
                                                      split_synonyms)

TEMPLATES = dict(en='synthetic_size_en', zh='synthetic_size_zh')


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    root = tmp_path_factory.getbasetemp()
    world = synthetic_world(str(root))
    return write_tiny_checkpoint(str(root / 'tiny_ckpt_seg'), os.path.join(world, 'tokenizer'))


@pytest.fixture(scope='module')
def model_and_tokenizer(ckpt):
    from fgclip2_mm.apis import load_fgclip2
    return load_fgclip2(ckpt), FGCLIP2Tokenizer(ckpt)


def count_text_calls(model):
    """Wrap ``get_text_features`` of this instance and count the texts it encodes."""
    calls = []
    original = model.get_text_features

    def wrapped(ids, walk_type='short', attention_mask=None):
        calls.append(ids.shape[0])
        return original(ids, walk_type, attention_mask)

    model.get_text_features = wrapped
    return calls


def test_synonym_lists_and_class_files(tmp_path):
    assert split_synonyms(' person, man，人、行人 ,') == ['person', 'man', '人', '行人']
    path = tmp_path / 'cls.txt'
    path.write_text('# a comment\nsky, heaven\n\n天空\n', encoding='utf-8')
    assert read_class_file(str(path)) == [['sky', 'heaven'], ['天空']]
    (tmp_path / 'empty.txt').write_text('# nothing\n\n', encoding='utf-8')
    with pytest.raises(ValueError, match='no class name'):
        read_class_file(str(tmp_path / 'empty.txt'))
    assert display_names([['pot'], ['pot', 'flowerpot'], ['cup']]) == \
        ['pot', 'pot (flowerpot)', 'cup']


def test_vocabulary_sources_and_languages(tmp_path):
    vocab = resolve_vocabulary(['circle, ring', '正方形'])
    assert vocab.num_classes == 2 and vocab.names == ['circle', '正方形']
    queries = vocab.queries('en')  # auto: each synonym with the templates of its script
    assert queries == [[{'en': 'circle'}, {'en': 'ring'}], [{'zh': '正方形'}]]
    with pytest.raises(ValueError, match='en\\+zh'):
        vocab.queries('en+zh')

    synth = resolve_vocabulary(dict(dataset='fgclip2_mm.FGCLIP2SyntheticSegDataset'))
    assert synth.num_classes == 17 and synth.names_in('zh')[1] == '圆形'
    both = synth.queries('en+zh')
    assert both[1] == [{'en': 'circle', 'zh': '圆形'}]

    pair = resolve_vocabulary(dict(en=['dog, puppy', 'cat'], zh=['狗', '猫, 小猫, 猫咪']))
    # the i-th English and Chinese synonyms are paired; the shorter list repeats its last
    assert pair.queries('en+zh')[0] == [dict(en='dog', zh='狗'), dict(en='puppy', zh='狗')]
    assert len(pair.queries('en+zh')[1]) == 3
    with pytest.raises(ValueError, match='aligned'):
        ClassVocabulary(en=[['a']], zh=[['甲'], ['乙']])
    with pytest.raises(ValueError, match='unknown dataset'):
        resolve_vocabulary(dict(dataset='fgclip2_mm.NoSuchDataset'))
    with pytest.raises(ValueError, match='needs'):
        resolve_vocabulary(dict(en=['a'])).queries('zh')
    ade = resolve_vocabulary(dict(dataset='ADE20KDataset'))  # an mmseg dataset by bare name
    assert ade.num_classes == 150


def test_templates():
    assert load_templates('plain') == ['{}']
    assert len(load_templates('seg_en')) >= 8 and all('{}' in t for t in load_templates('seg_zh'))
    with pytest.raises(ValueError, match='built-in sets'):
        load_templates('nope')
    with pytest.raises(ValueError, match='exactly one'):
        load_templates(['a {} {}'])


def test_embeddings_are_prompt_ensembles_and_synonym_queries(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    embedder = ClassTextEmbedder(dict(en=['a {}', 'the {}'], zh=['一个{}']), cache_dir=False)
    vocab = resolve_vocabulary(dict(en=['circle, ring', 'square'], zh=['圆形', '正方形']))
    embeds, owner = embedder(model, tokenizer, vocab, 'en')
    assert embeds.shape == (3, model.text_encoder.arch['proj_dims'])
    assert owner.tolist() == [0, 0, 1]
    assert torch.allclose(embeds.norm(dim=-1), torch.ones(3), atol=1e-5)
    with torch.no_grad():
        ids = tokenizer(['a circle', 'the circle'], walk_type='box')
        raw = torch.nn.functional.normalize(model.get_text_features(ids, 'box').float(), dim=-1)
    expected = torch.nn.functional.normalize(raw.mean(0), dim=-1)
    assert torch.allclose(embeds[0], expected, atol=1e-5)
    en_zh, _ = embedder(model, tokenizer, vocab, 'en+zh')
    zh, _ = embedder(model, tokenizer, vocab, 'zh')
    mixed = torch.nn.functional.normalize(embeds[2] + zh[1], dim=-1)
    assert torch.allclose(en_zh[2], mixed, atol=1e-5)


def test_disk_cache_is_reused_and_keyed_by_weights_templates_language(model_and_tokenizer,
                                                                      tmp_path):
    model, tokenizer = model_and_tokenizer
    vocab = resolve_vocabulary(dict(dataset='fgclip2_mm.FGCLIP2SyntheticSegDataset'))
    cache = tmp_path / 'cache'
    first, _ = ClassTextEmbedder(TEMPLATES, cache_dir=str(cache))(model, tokenizer, vocab, 'en')
    files = set(os.listdir(cache))
    assert len(files) == 1 and next(iter(files)).endswith('.safetensors')

    calls = count_text_calls(model)
    try:
        again, _ = ClassTextEmbedder(TEMPLATES, cache_dir=str(cache))(model, tokenizer, vocab,
                                                                     'en')
        assert calls == [] and torch.equal(first, again)  # served from disk
        ClassTextEmbedder(TEMPLATES, cache_dir=str(cache))(model, tokenizer, vocab, 'zh')
        ClassTextEmbedder(dict(en='plain'), cache_dir=str(cache))(model, tokenizer, vocab, 'en')
        assert len(os.listdir(cache)) == 3 and sum(calls) > 0
        with torch.no_grad():
            model.text_encoder.boxtext_head.bias.add_(0.5)  # new weights: a new key
        try:
            changed, _ = ClassTextEmbedder(TEMPLATES, cache_dir=str(cache))(model, tokenizer,
                                                                           vocab, 'en')
        finally:
            with torch.no_grad():
                model.text_encoder.boxtext_head.bias.sub_(0.5)
        assert len(os.listdir(cache)) == 4 and not torch.allclose(changed, first)
    finally:
        del model.get_text_features
