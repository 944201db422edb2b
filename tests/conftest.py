"""Test isolation and fixtures shared by every test directory."""
import logging

import pytest
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope


def _scope_restorer():
    saved = dict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(saved)


#: Undo the default scope a test leaves behind (mmengine Runners, mmdet/mmseg inits set a
#: process-global current scope that would change how later tests resolve types). Per test,
#: and per module for module-scoped fixtures (an inferencer built once for a file): autouse
#: fixtures of a scope are set up before the other fixtures of that scope.
_restore_default_scope = pytest.fixture(autouse=True)(_scope_restorer)
_restore_default_scope_per_module = pytest.fixture(autouse=True, scope='module')(
    _scope_restorer)


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
