"""Orchestration of the quick start.

Every capability owns one section of ``summary.json`` (:data:`SECTIONS`) and one module
``fgclip2_mm/quickstart/<section>_stage.py`` defining ``run(config, summary, log) -> dict``
(``summary`` holds the sections finished so far, e.g. the pretrained checkpoint for the
downstream stages). Sections whose module does not exist yet are written as
``{"status": "not_built", "issue": N}`` so the file always says honestly what ran. The summary is rewritten after every stage, so a crash
or interruption keeps the finished sections.
"""
import importlib
import importlib.util
import json
import os
import os.path as osp
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional

from ..synthetic_world.profiles import DEFAULT_PROFILE, PROFILES
from ..visualization import write_report
from . import world_stage

# Capability section -> issue that builds it.
SECTIONS: Dict[str, int] = {'pretrain': 4, 'eval': 5, 'ov_det': 6, 'ov_seg': 7}

StageFn = Callable[['QuickstartConfig', dict, Callable[[str], None]], dict]


@dataclass
class QuickstartConfig:
    """Settings of one quick-start run.

    Args:
        work_dir (str): Where ``summary.json`` and pictures go.
        data_root (str): Where the synthetic world is generated (or reused).
        profile (str): World profile (``'calibrated'``, the default, or ``'legacy'``; see
            :mod:`fgclip2_mm.synthetic_world.profiles`).
        seed (int): World and training seed.
        num_train (int): Training images of the world.
        num_val (int): Held-out images of the world.
        workers (int, optional): Processes for world generation.
        regenerate (bool): Rebuild the world even when a matching one exists.
        sections (list[str]): Capability sections to run, in order.
    """

    work_dir: str = 'work_dirs/quickstart'
    data_root: str = 'data/synthetic'
    profile: str = DEFAULT_PROFILE
    seed: int = 0
    num_train: int = 750
    num_val: int = 250
    workers: Optional[int] = None
    regenerate: bool = False
    sections: List[str] = field(default_factory=lambda: list(SECTIONS))

    def __post_init__(self):
        if self.profile not in PROFILES:
            raise ValueError(f'profile must be one of {tuple(PROFILES)}, got {self.profile!r}')
        unknown = [s for s in self.sections if s not in SECTIONS]
        if unknown:
            raise ValueError(f'unknown quick-start sections {unknown}; expected a subset of '
                             f'{list(SECTIONS)}')


def _find_stage(name: str) -> Optional[StageFn]:
    """The ``run`` function of ``<name>_stage.py``, or None while that stage is not built."""
    module_name = f'{__package__}.{name}_stage'
    if importlib.util.find_spec(module_name) is None:
        return None
    return importlib.import_module(module_name).run


def _log(message: str) -> None:
    print(f'[quickstart {time.strftime("%H:%M:%S")}] {message}', flush=True)


def _write(path: str, summary: dict) -> None:
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(summary, f, indent=2, ensure_ascii=False)
    os.replace(tmp, path)


def _previous_sections(path: str, config: QuickstartConfig) -> dict:
    """Finished sections of an earlier summary written with the same world (data root,
    profile, seed and sizes); {} when there is none or it does not match."""
    if not osp.isfile(path):
        return {}
    try:
        with open(path, encoding='utf-8') as f:
            old = json.load(f)
    except (OSError, ValueError):
        return {}
    keys = ('data_root', 'profile', 'seed', 'num_train', 'num_val')
    old_cfg = old.get('config') or {}
    if any(old_cfg.get(k) != getattr(config, k) for k in keys):
        return {}
    return {name: old[name] for name in SECTIONS
            if isinstance(old.get(name), dict) and old[name].get('status') == 'ok'}


def run_quickstart(config: QuickstartConfig) -> dict:
    """Run the quick start and return the summary (also written to ``summary.json``)."""
    os.makedirs(config.work_dir, exist_ok=True)
    summary_path = osp.join(config.work_dir, 'summary.json')
    start = time.time()
    summary: dict = {'config': asdict(config), 'profile': config.profile}
    previous = _previous_sections(summary_path, config)
    for name, issue in SECTIONS.items():
        if name in config.sections:
            summary[name] = {'status': 'not_built', 'issue': issue}
        elif name in previous:  # e.g. --sections ov_det reuses the last pretrain section
            summary[name] = previous[name]
            _log(f'{name}: not selected; keeping the section of the previous {summary_path}')
        else:
            summary[name] = {'status': 'not_run' if _find_stage(name) else 'not_built',
                             'issue': issue}

    _log(f'synthetic world ({config.profile} profile) -> {config.data_root}')
    summary['world'] = world_stage.run(config, log=_log)
    _write(summary_path, summary)

    for name in config.sections:
        stage = _find_stage(name)
        if stage is None:
            _log(f'{name}: not built yet (issue {SECTIONS[name]}); section left as not_built')
            continue
        _log(f'{name}: starting')
        t0 = time.time()
        section = stage(config, summary, _log)
        section.setdefault('status', 'ok')
        section['seconds'] = round(time.time() - t0, 1)
        summary[name] = section
        _write(summary_path, summary)
        _log(f'{name}: done in {section["seconds"]} s')

    summary['total_seconds'] = round(time.time() - start, 1)
    _write(summary_path, summary)
    _log(f'summary written to {summary_path} ({summary["total_seconds"]} s); report: '
         f'{write_report(config.work_dir)}')
    return summary
