"""Fixtures of the pretraining tests: a small synthetic world (session-scoped) and raw
records shaped like the pretraining datasets' output."""
import copy

import pytest

@pytest.fixture(scope='session')
def small_world(tmp_path_factory):
    """A 24 + 16 image synthetic world (a few seconds), shared by the whole session."""
    from fgclip2_mm.synthetic_world import generate_world
    root = tmp_path_factory.mktemp('world')
    generate_world(str(root), seed=3, num_train=24, num_val=16, workers=1)
    return root


def _region(i, negatives=True):
    negs = [f'a Red negative {i} {j}' for j in range(10)] if negatives else None
    return dict(bbox=[0.1 * i, 0.1, 0.1 * i + 0.2, 0.5], short_expr=f'a Small Thing {i}',
                long_expr=f'a Small Thing {i} on the Left', hard_negatives=negs)


@pytest.fixture
def en_record():
    """An English raw record with 5 regions (one more than the 4 slots)."""
    return dict(img_path='x.jpg', sample_idx=7, lang='en', caption_short='Two Shapes',
                caption_long='A Long Caption.', regions=[_region(i) for i in range(5)])


@pytest.fixture
def zh_record():
    """A Chinese raw record without boxes and without a long caption."""
    return dict(img_path='y.jpg', sample_idx=3, lang='zh', caption_short='两个图形',
                caption_long=None, regions=[])


def make_region(i, negatives=True):
    return copy.deepcopy(_region(i, negatives))
