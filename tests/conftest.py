"""Test isolation shared by every test directory."""
import pytest
from mmengine.registry import DefaultScope


@pytest.fixture(autouse=True)
def _restore_default_scope():
    """Undo the default scope a test leaves behind (mmengine Runners, mmdet/mmseg inits set
    a process-global current scope that would change how later tests resolve types)."""
    saved = dict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(saved)
