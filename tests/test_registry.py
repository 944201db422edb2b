"""Registries: every mmengine node has an fgclip2_mm child, our modules build by scoped name
from host registries under any default scope, and importing the plugin leaves the hosts
alone."""
import subprocess
import sys

import mmengine.registry as mmengine_registry
import pytest
from mmengine.registry import DefaultScope

from fgclip2_mm import registry as ours

NODE_NAMES = [name for name in dir(mmengine_registry)
              if name.isupper() and isinstance(getattr(mmengine_registry, name),
                                               mmengine_registry.Registry)]

# (registry node, config) of registered classes a host config would name.
CASES = [
    ('TRANSFORMS', dict(type='fgclip2_mm.FGCLIP2NaFlexPatchify', max_num_patches=64)),
    ('TRANSFORMS', dict(type='fgclip2_mm.FGCLIP2LoadImage')),
    ('MODELS', dict(type='fgclip2_mm.FGCLIP2DataPreprocessor')),
    ('MODELS', dict(type='fgclip2_mm.FGCLIP2VisionTransformer', arch='tiny')),
    ('MODELS', dict(type='fgclip2_mm.FGCLIP2', arch='tiny')),
]


def test_every_mmengine_node_has_an_fgclip2_mm_child():
    assert len(NODE_NAMES) >= 20
    for name in NODE_NAMES:
        child = getattr(ours, name)
        assert child.scope == 'fgclip2_mm', name
        assert child.parent is getattr(mmengine_registry, name), name
        assert child.name in child.parent.children or 'fgclip2_mm' in child.parent.children


def _host_registry(host, node):
    if host is None:
        return getattr(mmengine_registry, node)
    module = pytest.importorskip(f'{host}.registry')
    return getattr(module, node)


@pytest.mark.parametrize('host', [None, 'mmdet', 'mmseg'])
@pytest.mark.parametrize('node,cfg', CASES, ids=[c['type'] for _, c in CASES])
def test_scoped_type_builds_under_any_default_scope(host, node, cfg):
    registry = _host_registry(host, node)
    original = dict(cfg)
    with DefaultScope.overwrite_default_scope(host):
        built = registry.build(cfg)
    assert type(built).__name__ == cfg['type'].split('.', 1)[1]
    assert cfg == original, 'building must not mutate the config'


def test_import_does_not_import_the_hosts():
    code = ('import sys, fgclip2_mm, fgclip2_mm.registry, fgclip2_mm.models, '
            'fgclip2_mm.datasets; '
            'print(sorted(m for m in ("mmdet", "mmseg", "mmcv") if m in sys.modules))')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == '[]', proc.stdout
