"""Byte-stable writers: fixed key order, fixed separators, UTF-8, trailing newline."""
import json
import os
import os.path as osp
from typing import Iterable, List


def dumps(obj, indent: int = None) -> str:
    """Serialise with Chinese kept readable and compact separators unless indented."""
    separators = (',', ': ') if indent else (',', ':')
    return json.dumps(obj, ensure_ascii=False, indent=indent, separators=separators)


def write_json(path: str, obj, indent: int = None) -> str:
    """Write one JSON document and return ``path``."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        f.write(dumps(obj, indent))
        f.write('\n')
    return path


def write_jsonl(path: str, records: Iterable) -> str:
    """Write one JSON document per line and return ``path``."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        for record in records:
            f.write(dumps(record))
            f.write('\n')
    return path


def write_lines(path: str, lines: List[str]) -> str:
    """Write plain text lines and return ``path``."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        f.writelines(line + '\n' for line in lines)
    return path
