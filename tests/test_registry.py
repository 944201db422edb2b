"""Registries: every mmengine node has an fgclip2_mm child, our modules build by scoped name
from host registries under any default scope, and importing the plugin leaves the hosts
alone."""
import json
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


_INVENTORY = r'''
import importlib, importlib.util, json, pkgutil, sys
import fgclip2_mm
from mmengine.registry import Registry
from fgclip2_mm import registry
hosts = [h for h in ('mmdet', 'mmseg') if importlib.util.find_spec(h) is not None]
for info in pkgutil.walk_packages(fgclip2_mm.__path__, 'fgclip2_mm.',
                                  onerror=lambda name: None):
    parts = info.name.split('.')
    if parts[1] == 'integrations' and (len(parts) < 3 or parts[2] not in hosts):
        continue
    importlib.import_module(info.name)  # every module of the package, so every registration
print(json.dumps(dict(hosts=hosts, registered={
    name: {key: cls.__module__ for key, cls in node._module_dict.items()}
    for name, node in vars(registry).items()
    if isinstance(node, Registry) and node.scope == registry.SCOPE})))
'''

_RESOLVE = r'''
import json, sys
from mmengine.utils import import_modules_from_strings
import mmengine.registry as roots
wanted, custom_imports = json.loads(sys.argv[1]), json.loads(sys.argv[2])
import_modules_from_strings(custom_imports)  # what a config's custom_imports does
found = {}
for name, keys in wanted.items():
    root = getattr(roots, name)  # as a host config resolves type='fgclip2_mm.X'
    found[name] = {key: getattr(root.get('fgclip2_mm.' + key), '__module__', None)
                   for key in keys}
hosts = sorted(m for m in ('mmdet', 'mmseg', 'mmcv') if m in sys.modules)
print(json.dumps(dict(found=found, hosts=hosts)))
'''


def _run_json(code, *args):
    proc = subprocess.run([sys.executable, '-c', code, *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope='module')
def inventory():
    """Every type the package registers (all modules imported), by registry and module."""
    return _run_json(_INVENTORY)


def _split(registered):
    core, glue = {}, {}
    for name, entries in registered.items():
        for key, module in entries.items():
            side = glue if module.startswith('fgclip2_mm.integrations.') else core
            side.setdefault(name, {})[key] = module
    return core, glue


def _under(module, locations):
    return any(module == loc or module.startswith(loc + '.') for loc in locations)


def test_locations_match_where_classes_register(inventory):
    core, _ = _split(inventory['registered'])
    assert {'WEIGHT_INITIALIZERS', 'FUNCTIONS', 'MODELS', 'LOOPS'} <= set(core)
    for name in NODE_NAMES:
        locations = getattr(ours, name)._locations
        modules = core.get(name, {})
        outside = {k: m for k, m in modules.items() if not _under(m, locations)}
        assert not outside, f'{name}: registered outside its locations {locations}: {outside}'
        idle = [loc for loc in locations if not any(_under(m, [loc]) for m in modules.values())]
        assert not idle, f'{name}: locations where nothing registers: {idle}'
        assert not any(loc.startswith('fgclip2_mm.integrations') for loc in locations), name


def test_every_core_type_resolves_from_a_fresh_interpreter_through_locations(inventory):
    core, _ = _split(inventory['registered'])
    wanted = {name: sorted(entries) for name, entries in core.items()}
    result = _run_json(_RESOLVE, json.dumps(wanted), '[]')
    assert result['found'] == core
    assert result['hosts'] == [], 'resolving a core type must not import a host library'


def test_every_host_glue_type_resolves_after_its_custom_imports(inventory):
    _, glue = _split(inventory['registered'])
    hosts = inventory['hosts']
    if not hosts:
        pytest.skip('neither mmdet nor mmseg is installed')
    assert glue, 'the host glue registers its classes into the fgclip2_mm registries'
    imports = [f'fgclip2_mm.integrations.{host}' for host in hosts]
    result = _run_json(_RESOLVE, json.dumps({n: sorted(e) for n, e in glue.items()}),
                       json.dumps(imports))
    assert result['found'] == glue
