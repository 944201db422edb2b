"""Command-line helpers shared by the scripts in ``tools/``."""
import argparse


class OneLineArgumentParser(argparse.ArgumentParser):
    """``argparse`` that reports a bad argument in one line on stderr (exit code 2), without
    the usage block, so users see what is wrong at a glance and never a traceback."""

    def error(self, message: str):
        self.exit(2, f'{self.prog}: error: {message}\n')


def non_negative_int(text: str) -> int:
    """argparse ``type`` for counts: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected an integer, got {text!r}') from None
    if value < 0:
        raise argparse.ArgumentTypeError(f'must be >= 0, got {value}')
    return value
