"""The quick start: one command that builds the synthetic world and runs every capability
that exists on it, writing ``summary.json`` and pictures under the work dir."""
from .pipeline import SECTIONS, QuickstartConfig, run_quickstart

__all__ = ['SECTIONS', 'QuickstartConfig', 'run_quickstart']
