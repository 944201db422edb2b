"""Vocabulary embeddings: class-mean of normalised prompts, and the disk cache keyed by
weights, vocabulary, templates, language, walk, tokenizer and casing."""
import os.path as osp
import shutil

import pytest
import torch
import torch.nn.functional as F

from fgclip2_mm.datasets import FGCLIP2Tokenizer
from fgclip2_mm.text import embeddings as te

KEY_ARGS = dict(weights='w', classes=['red circle'], templates=['a {}'], lang='en',
                walk='box', tokenizer='t', lowercase=True)


def test_key_changes_with_every_component():
    base = te.vocabulary_key(**KEY_ARGS)
    changes = dict(weights='w2', classes=['blue circle'], templates=['{}'], lang='zh',
                   walk='short', tokenizer='t2', lowercase=False)
    keys = {base}
    for name, value in changes.items():
        keys.add(te.vocabulary_key(**dict(KEY_ARGS, **{name: value})))
    assert len(keys) == len(changes) + 1
    assert te.vocabulary_key(**KEY_ARGS) == base  # stable


def test_weights_digest_tracks_the_text_tower_only(other_tiny_model):
    model = other_tiny_model
    before = te.weights_digest(model.text_encoder)
    with torch.no_grad():
        next(model.vision_backbone.parameters()).add_(1.0)
    assert te.weights_digest(model.text_encoder) == before
    with torch.no_grad():
        next(model.text_encoder.parameters()).view(-1)[0] += 1e-3
    assert te.weights_digest(model.text_encoder) != before


def test_tokenizer_digest_tracks_file_content(eval_world, tmp_path):
    copy = tmp_path / 'tok'
    shutil.copytree(osp.join(eval_world, 'tokenizer'), copy)
    first = te.tokenizer_digest(FGCLIP2Tokenizer(str(copy)))
    assert te.tokenizer_digest(FGCLIP2Tokenizer(str(copy))) == first
    config = copy / 'tokenizer_config.json'
    config.write_text(config.read_text().replace('}', ', "model_max_length": 64}', 1))
    assert te.tokenizer_digest(FGCLIP2Tokenizer(str(copy))) != first
    assert te.tokenizer_digest(FGCLIP2Tokenizer(str(copy), long_length=100)) != first


def test_class_weight_is_normalised_mean_and_cached(eval_world, tiny_model, tmp_path,
                                                    monkeypatch):
    tok = FGCLIP2Tokenizer(osp.join(eval_world, 'tokenizer'), lowercase=False)
    classes, templates = ['Red Circle', 'blue star'], ['a {}', 'the {}', '{}']
    cache = te.TextEmbeddingCache(str(tmp_path / 'cache'))
    weights = te.vocabulary_embeddings(tiny_model, tok, classes, templates, 'box', 'en', True,
                                       cache)
    prompts = [t.format(c).lower() for c in classes for t in templates]
    ids = tok(prompts, walk_type='box')
    with torch.no_grad():
        emb = F.normalize(tiny_model.get_text_features(ids, 'box'), dim=-1).reshape(2, 3, -1)
    assert torch.allclose(weights, F.normalize(emb.mean(1), dim=-1), atol=1e-6)
    assert len(list((tmp_path / 'cache').iterdir())) == 1

    def boom(*args, **kwargs):
        raise AssertionError('the cache was not used')

    monkeypatch.setattr(te, 'encode_text_list', boom)
    again = te.vocabulary_embeddings(tiny_model, tok, classes, templates, 'box', 'en', True,
                                     cache)
    assert torch.equal(again, weights)
    with pytest.raises(AssertionError, match='not used'):  # another walk is another key
        te.vocabulary_embeddings(tiny_model, tok, classes, templates, 'short', 'en', True,
                                 cache)


def test_templates_are_validated():
    from fgclip2_mm.text import load_templates
    assert len(load_templates('imagenet_en')) == 80
    assert load_templates('plain') == ['{}']
    with pytest.raises(ValueError, match='built-in sets'):
        load_templates('imagenet_fr')
    with pytest.raises(ValueError, match='exactly one'):
        load_templates(['a photo'])
