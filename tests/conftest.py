"""Test isolation and fixtures shared by every test directory."""
import logging

import pytest
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope


@pytest.fixture(autouse=True)
def _restore_default_scope():
    """Undo the default scope a test leaves behind (mmengine Runners, mmdet/mmseg inits set
    a process-global current scope that would change how later tests resolve types)."""
    saved = dict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(saved)


@pytest.fixture
def messages():
    """Messages logged through mmengine's current logger during the test."""
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
