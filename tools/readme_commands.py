"""Print the quick-start commands of the README (used by .ci/run and tests/test_docs.py).

The README's ``## Quick start`` section must start with a fenced code block holding
exactly two commands: set up + run the main job, and set up + run the tests.
"""
import argparse
import os.path as osp
import re
import sys
from typing import List

README = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'README.md')


def quickstart_commands(readme_path: str = README) -> List[str]:
    """Return the commands of the first fenced block under ``## Quick start``."""
    with open(readme_path, encoding='utf-8') as f:
        text = f.read()
    section = re.search(r'^## Quick start\s*$(.*?)(?=^## |\Z)', text, re.M | re.S)
    if section is None:
        raise ValueError(f'{readme_path}: no "## Quick start" section')
    block = re.search(r'^```[a-z]*\n(.*?)^```', section.group(1), re.M | re.S)
    if block is None:
        raise ValueError(f'{readme_path}: no fenced code block under "## Quick start"')
    commands = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    if len(commands) != 2:
        raise ValueError(f'{readme_path}: the quick-start block must hold exactly two '
                         f'commands, found {len(commands)}')
    return commands


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--index', type=int, choices=(0, 1), required=True,
                        help='0: the main job, 1: the tests')
    args = parser.parse_args()
    try:
        print(quickstart_commands()[args.index])
    except ValueError as err:
        print(f'readme_commands.py: error: {err}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
