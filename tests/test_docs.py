"""The README's quick start and the CI entry point stay in sync, and the files the README
names exist."""
import os.path as osp
import re
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))
from readme_commands import quickstart_commands  # noqa: E402


def test_quickstart_block_has_exactly_two_commands():
    setup_and_run, setup_and_test = quickstart_commands(osp.join(ROOT, 'README.md'))
    for command in (setup_and_run, setup_and_test):
        assert command.startswith('bash tools/setup_env.sh && ')
    assert 'tools/quickstart.py' in setup_and_run
    assert 'pytest' in setup_and_test


def test_ci_runs_the_readme_test_command():
    ci = open(osp.join(ROOT, '.ci', 'run'), encoding='utf-8').read()
    assert 'readme_commands.py --index 1' in ci
    printed = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'readme_commands.py'),
                              '--index', '1'], capture_output=True, text=True, check=True)
    assert printed.stdout.strip() == quickstart_commands(osp.join(ROOT, 'README.md'))[1]


def test_readme_mentions_only_existing_repo_files():
    text = open(osp.join(ROOT, 'README.md'), encoding='utf-8').read()
    paths = set(re.findall(r'\b((?:tools|configs|projects|fgclip2_mm|tests)/[\w./-]+\.'
                           r'(?:py|sh|md))\b', text))
    assert paths, 'the README should point at real files'
    missing = sorted(p for p in paths if not osp.exists(osp.join(ROOT, p)))
    assert not missing, f'README names files that do not exist: {missing}'


def test_requirements_pin_every_package():
    for name in ('runtime', 'mminstall', 'optional', 'tests', 'lvis'):
        lines = [line.strip() for line in open(osp.join(ROOT, 'requirements', name + '.txt'))
                 if line.strip() and not line.startswith('#')]
        unpinned = [line for line in lines if '==' not in line]
        assert not unpinned, f'requirements/{name}.txt has unpinned entries: {unpinned}'
