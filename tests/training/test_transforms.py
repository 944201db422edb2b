"""FGCLIP2SampleRegions (slots, masks, prefix, box selection, Chinese records without
boxes), lower-casing by the tokenizer only, nested tokenisation and packing of the region
fields. The dataset side of the FineHARD path: tests/datasets/test_finehard_path.py."""
import numpy as np
import pytest
import torch

from fgclip2_mm.datasets import FGCLIP2Tokenizer
from fgclip2_mm.datasets.transforms import (FGCLIP2PackInputs, FGCLIP2SampleRegions,
                                            FGCLIP2Tokenize)
from .conftest import make_region


def test_slots_masks_and_prefix(en_record):
    out = FGCLIP2SampleRegions(expr_choice='short')(en_record)
    assert out['short_text'] == 'a photo of Two Shapes'  # the case is the tokenizer's
    assert out['long_text'] == 'A Long Caption.' and out['long_valid']
    assert out['region_valid'].tolist() == [True] * 4  # 5 regions, 4 slots: the first 4
    assert out['region_texts'] == [f'a Small Thing {i}' for i in range(4)]
    np.testing.assert_allclose(out['region_boxes'][1], [0.1, 0.1, 0.3, 0.5], rtol=1e-6)
    assert out['region_boxes'].dtype == np.float32
    assert out['hard_valid'].tolist() == [True] * 4
    group = out['hard_texts'][2]
    assert group == ['a Small Thing 2'] + [f'a Red negative 2 {j}' for j in range(10)]


def test_texts_are_lower_cased_once_by_the_tokenizer(en_record, small_world):
    """Positive and negatives alike (reference bug 14 lower-cased the negatives only)."""
    out = FGCLIP2SampleRegions(expr_choice='short')(en_record)
    tokenize = FGCLIP2Tokenize(tokenizer=dict(folder=str(small_world / 'tokenizer')))
    ids = tokenize(dict(out))
    tok = tokenize.tokenizer
    assert tok.lowercase
    lower = [t.lower() for t in out['hard_texts'][2]]
    assert torch.equal(ids['hardneg_texts'][2], tok(lower, 'box'))
    assert torch.equal(ids['text_short'], tok('a photo of two shapes', 'short')[0])
    cased = FGCLIP2Tokenizer(str(small_world / 'tokenizer'), lowercase=False)
    assert not torch.equal(ids['hardneg_texts'][2], cased(out['hard_texts'][2], 'box'))
    with pytest.warns(DeprecationWarning, match='lowercase is deprecated'):
        legacy = FGCLIP2SampleRegions(expr_choice='short', lowercase=True)
    assert legacy(dict(en_record))['region_texts'] == out['region_texts']


def test_long_expression_choice(en_record):
    np.random.seed(0)
    transform = FGCLIP2SampleRegions(expr_choice='random', max_boxes=4)
    texts = [t for _ in range(10) for t in transform(dict(en_record))['region_texts']]
    share = np.mean([t.endswith('on the Left') for t in texts])
    assert 0.3 < share < 0.7  # uniform choice between the short and the long expression
    long = FGCLIP2SampleRegions(expr_choice='long')(dict(en_record))['region_texts']
    assert all(t.endswith('on the Left') for t in long)
    en_record['regions'][0]['long_expr'] = None  # falls back to the short expression
    assert FGCLIP2SampleRegions(expr_choice='long')(en_record)['region_texts'][0] == \
        'a Small Thing 0'


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
    assert out['hard_texts'][1][0] == 'a Small Thing 1'
    assert out['hard_texts'][0] == [''] * 11


def test_a_count_the_dataset_would_not_yield_raises(en_record):
    """The dataset validates the count (negatives_wrong_count -> None, masked below); a
    record with another count breaks its contract and is named, never silently masked."""
    en_record['regions'][1]['hard_negatives'] = None
    out = FGCLIP2SampleRegions()(dict(en_record))
    assert out['hard_valid'].tolist() == [True, False, True, True]
    assert out['region_valid'][1]  # the box still serves the region loss
    en_record['regions'][1]['hard_negatives'] = ['only one']
    with pytest.raises(ValueError, match=r'x.jpg .*regions\[1\] has 1 hard negatives, '
                                         r'expected None or 10'):
        FGCLIP2SampleRegions()(en_record)


def test_random_box_selection_keeps_record_order_with_one_draw(en_record):
    np.random.seed(1)
    expected = sorted(np.random.choice(5, 4, replace=False).tolist())
    np.random.seed(1)
    out = FGCLIP2SampleRegions(box_selection='random', expr_choice='short')(en_record)
    ids = [int(t.split()[-1]) for t in out['region_texts']]
    assert ids == expected  # the draw the dataset used to make: the same numbers
    with pytest.warns(DeprecationWarning, match='box_sampling is deprecated'):
        alias = FGCLIP2SampleRegions(box_sampling='random', expr_choice='short')
    assert alias.box_selection == alias.box_sampling == 'random'
    np.random.seed(1)
    assert alias(dict(en_record))['region_texts'] == out['region_texts']
    with pytest.raises(ValueError, match='contradicts'):
        FGCLIP2SampleRegions(box_sampling='random', box_selection='first')
    with pytest.raises(ValueError, match='box_selection must be one of'):
        FGCLIP2SampleRegions(box_selection='best')


def test_captions_only_and_validation(en_record):
    out = FGCLIP2SampleRegions(max_boxes=0)(dict(en_record))
    assert 'region_boxes' not in out and out['short_text'] == 'a photo of Two Shapes'
    with pytest.raises(ValueError, match='expr_choice'):
        FGCLIP2SampleRegions(expr_choice='middle')
    with pytest.raises(ValueError, match='max_hard_boxes'):
        FGCLIP2SampleRegions(max_boxes=2, max_hard_boxes=3)
    with pytest.raises(ValueError, match='lang'):
        FGCLIP2SampleRegions()(dict(en_record, lang='fr'))
    with pytest.raises(ValueError, match=r'x.jpg.*regions must be a list'):
        FGCLIP2SampleRegions()(dict(en_record, regions='boxes'))
    with pytest.raises(ValueError, match='caption_short'):
        FGCLIP2SampleRegions()(dict(en_record, caption_short=None))
    # Box and text values are the dataset's to validate (inverted boxes, blank captions):
    # tests/datasets/test_finehard_path.py and tests/robustness/test_bad_records.py.


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
