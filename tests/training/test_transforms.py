"""FGCLIP2SampleRegions (slots, masks, prefix, lower-casing, Chinese records without boxes),
nested tokenisation and packing of the region fields."""
import numpy as np
import pytest
import torch

from fgclip2_mm.datasets.transforms import (FGCLIP2PackInputs, FGCLIP2SampleRegions,
                                            FGCLIP2Tokenize)
from .conftest import make_region


def test_slots_masks_prefix_and_lowercase(en_record):
    out = FGCLIP2SampleRegions(expr_choice='short')(en_record)
    assert out['short_text'] == 'a photo of two shapes'
    assert out['long_text'] == 'a long caption.' and out['long_valid']
    assert out['region_valid'].tolist() == [True] * 4  # 5 regions, 4 slots: the first 4
    assert out['region_texts'] == [f'a small thing {i}' for i in range(4)]
    np.testing.assert_allclose(out['region_boxes'][1], [0.1, 0.1, 0.3, 0.5], rtol=1e-6)
    assert out['region_boxes'].dtype == np.float32
    assert out['hard_valid'].tolist() == [True] * 4
    group = out['hard_texts'][2]
    # Positive first; positive and negatives lower-cased alike (reference bug 14).
    assert group == ['a small thing 2'] + [f'a red negative 2 {j}' for j in range(10)]


def test_long_expression_choice(en_record):
    np.random.seed(0)
    transform = FGCLIP2SampleRegions(expr_choice='random', max_boxes=4)
    texts = [t for _ in range(10) for t in transform(dict(en_record))['region_texts']]
    share = np.mean([t.endswith('on the left') for t in texts])
    assert 0.3 < share < 0.7  # uniform choice between the short and the long expression
    long = FGCLIP2SampleRegions(expr_choice='long')(dict(en_record))['region_texts']
    assert all(t.endswith('on the left') for t in long)
    en_record['regions'][0]['long_expr'] = None  # falls back to the short expression
    assert FGCLIP2SampleRegions(expr_choice='long')(en_record)['region_texts'][0] == \
        'a small thing 0'


def test_chinese_record_without_boxes(zh_record):
    out = FGCLIP2SampleRegions()(zh_record)
    assert out['short_text'] == '两个图形'  # no English prefix
    assert out['long_text'] == '' and not out['long_valid']
    assert not out['region_valid'].any() and not out['hard_valid'].any()
    assert out['region_boxes'].shape == (4, 4) and not out['region_boxes'].any()
    assert out['region_texts'] == [''] * 4 and out['hard_texts'] == [[''] * 11] * 4


def test_hard_slots_are_masked_not_compacted(en_record):
    en_record['regions'] = [make_region(0, negatives=False), make_region(1),
                            make_region(2)]
    out = FGCLIP2SampleRegions(max_hard_boxes=1)(en_record)
    assert out['region_valid'].tolist() == [True, True, True, False]
    assert out['hard_valid'].tolist() == [False, True, False, False]
    assert out['hard_texts'][1][0] == 'a small thing 1'
    assert out['hard_texts'][0] == [''] * 11


def test_wrong_negative_count_masks_and_counts(en_record):
    en_record['regions'][1]['hard_negatives'] = ['only one']
    transform = FGCLIP2SampleRegions()
    out = transform(en_record)
    assert out['hard_valid'].tolist() == [True, False, True, True]
    assert out['region_valid'][1]  # the box still serves the region loss
    assert transform.num_masked_hard == 1


def test_random_box_sampling_keeps_record_order(en_record):
    np.random.seed(1)
    out = FGCLIP2SampleRegions(box_sampling='random', expr_choice='short')(en_record)
    ids = [int(t.split()[-1]) for t in out['region_texts']]
    assert ids == sorted(ids) and len(set(ids)) == 4


def test_captions_only_and_validation(en_record):
    out = FGCLIP2SampleRegions(max_boxes=0)(dict(en_record))
    assert 'region_boxes' not in out and out['short_text'] == 'a photo of two shapes'
    with pytest.raises(ValueError, match='expr_choice'):
        FGCLIP2SampleRegions(expr_choice='middle')
    with pytest.raises(ValueError, match='max_hard_boxes'):
        FGCLIP2SampleRegions(max_boxes=2, max_hard_boxes=3)
    with pytest.raises(ValueError, match='lang'):
        FGCLIP2SampleRegions()(dict(en_record, lang='fr'))
    bad = dict(en_record, regions=[dict(make_region(0), bbox=[0.5, 0.1, 0.2, 0.3])])
    with pytest.raises(ValueError, match=r'x.jpg.*regions\[0\]\.bbox'):
        FGCLIP2SampleRegions()(bad)
    with pytest.raises(ValueError, match='caption_short'):
        FGCLIP2SampleRegions()(dict(en_record, caption_short='  '))


def test_tokenize_and_pack_region_fields(en_record, small_world):
    out = FGCLIP2SampleRegions()(en_record)
    tokenize = FGCLIP2Tokenize(
        tokenizer=dict(folder=str(small_world / 'tokenizer')),
        keys=dict(region_texts=('box_texts', 'box'), hard_texts=('hardneg_texts', 'box')))
    out = tokenize(out)
    assert out['box_texts'].shape == (4, 64) and out['hardneg_texts'].shape == (4, 11, 64)
    flat = tokenize.tokenizer(out['hard_texts'][3], 'box')
    assert torch.equal(out['hardneg_texts'][3], flat)
    with pytest.raises(ValueError, match='different lengths'):
        tokenize(dict(region_texts=['a'], hard_texts=[['a', 'b'], ['c']]))
    out.update(patches=np.zeros((2, 768), np.float32), spatial_shape=(1, 2))
    sample = FGCLIP2PackInputs()(out)['data_samples']
    assert sample.hardneg_texts.shape == (4, 11, 64)
    assert sample.region_valid.dtype == torch.bool and sample.long_valid.dtype == torch.bool
    assert sample.region_boxes.dtype == torch.float32 and sample.region_boxes.shape == (4, 4)
