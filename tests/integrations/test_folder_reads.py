"""Building the open-vocabulary detector reads its FG-CLIP 2 folder once: the backbone reads
the config and the weights, the box head's architecture lookup hits the cached config."""
import pytest

pytest.importorskip('mmdet')

from mmdet.registry import MODELS as MMDET_MODELS  # noqa: E402
from mmengine.config import ConfigDict  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from fgclip2_mm.integrations.mmdet.testing import tiny_detector_cfg  # noqa: E402
from fgclip2_mm.models.utils import checkpoint_folder as cf  # noqa: E402


def test_the_detector_reads_its_folder_once(ckpt, monkeypatch):
    calls = {'config': 0, 'weights': 0}

    def counted(name, func):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return func(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(cf, 'read_model_config', counted('config', cf.read_model_config))
    monkeypatch.setattr(cf, '_load_weights', counted('weights', cf._load_weights))
    cf.clear_config_cache()
    import fgclip2_mm.integrations.mmdet  # noqa: F401  (registration)
    with DefaultScope.overwrite_default_scope('mmdet'):
        det = MMDET_MODELS.build(ConfigDict(tiny_detector_cfg(ckpt, cache_dir=False)))
    assert calls == {'config': 1, 'weights': 1}
    assert det.roi_head.bbox_head.fc_cls.embed_dims == cf.read_folder_config(ckpt)[2]['text'][
        'proj_dims']
