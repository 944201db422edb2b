"""Fixtures of the mmdet / mmseg integration tests: one small synthetic world and one tiny
FG-CLIP 2 checkpoint (exact HF layout, random weights) per test session."""
import pytest

from fgclip2_mm.testing import synthetic_world, write_tiny_checkpoint


@pytest.fixture(scope='session')
def world(tmp_path_factory):
    return synthetic_world(str(tmp_path_factory.getbasetemp()))


@pytest.fixture(scope='session')
def ckpt(world, tmp_path_factory):
    return write_tiny_checkpoint(str(tmp_path_factory.mktemp('ckpt')), f'{world}/tokenizer')
