"""No import cycle between the subpackages of fgclip2_mm (``models``, ``engine``, ``apis``, ...).

Every ``import`` statement counts, the ones inside functions too: a deferred import hides
a cycle from the interpreter but not from the reader (``models -> engine -> apis -> models``
was one). Each of the three core subpackages must also import first in a fresh interpreter.
"""
import ast
import os.path as osp
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest

import fgclip2_mm

ROOT = Path(fgclip2_mm.__file__).parent


def _module_name(path: Path) -> str:
    parts = ('fgclip2_mm', ) + path.relative_to(ROOT).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _imported(path: Path, name: str) -> Set[str]:
    """Every fgclip2_mm module named by an import statement of ``path``."""
    package = name if path.name == '__init__.py' else name.rsplit('.', 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')[:len(package.split('.')) - node.level + 1]
                target = '.'.join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            found.add(target)
            found.update(f'{target}.{alias.name}' for alias in node.names)
    return {t for t in found if t == 'fgclip2_mm' or t.startswith('fgclip2_mm.')}


def subpackage_graph() -> Dict[str, Set[str]]:
    """``fgclip2_mm.<sub>`` -> the other ``fgclip2_mm.<sub>`` it imports (the package's
    own ``__init__`` is the node ``fgclip2_mm``)."""
    def node(module: str) -> str:
        return '.'.join(module.split('.')[:2])

    graph: Dict[str, Set[str]] = {}
    for path in sorted(ROOT.rglob('*.py')):
        name = _module_name(path)
        for target in _imported(path, name):
            if node(target) != node(name):
                graph.setdefault(node(name), set()).add(node(target))
    return graph


def find_cycle(graph: Dict[str, Set[str]]) -> List[str]:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or ``[]``."""
    state: Dict[str, int] = {}  # 1: on the current path, 2: done
    path: List[str] = []

    def visit(v: str) -> List[str]:
        state[v] = 1
        path.append(v)
        for w in sorted(graph.get(v, ())):
            if state.get(w) == 1:
                return path[path.index(w):] + [w]
            if w not in state:
                cycle = visit(w)
                if cycle:
                    return cycle
        state[v] = 2
        path.pop()
        return []

    for v in sorted(graph):
        if v not in state:
            cycle = visit(v)
            if cycle:
                return cycle
    return []


def test_find_cycle_finds_one():
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': {'c'}}) == []


def test_the_subpackages_import_without_cycles():
    graph = subpackage_graph()
    assert 'fgclip2_mm.models' in graph['fgclip2_mm.apis']  # the scan sees real edges
    assert find_cycle(graph) == [], ' -> '.join(find_cycle(graph))


@pytest.mark.parametrize('package', ['fgclip2_mm.models', 'fgclip2_mm.engine', 'fgclip2_mm.apis'])
def test_each_core_subpackage_imports_first(package):
    code = f'import {package}'
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            cwd=osp.dirname(ROOT), timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
