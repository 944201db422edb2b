"""The error raised when a training dataset yields no batch at all.

Without it, an mmengine ``IterBasedTrainLoop`` over a dataset with no usable record (or
fewer samples than one global batch with ``drop_last=True``) ends with a bare
``StopIteration`` from inside its dataloader iterator, and an ``EpochBasedTrainLoop``
"trains" zero iterations. :func:`check_has_batches` is called by the batch sampler when it
plans an epoch, in the main process, before the first step.
"""
from typing import Dict


class NoTrainingDataError(ValueError):
    """The training dataloader would yield no batch (the message says why and gives the
    dataset's counts)."""


def check_has_batches(num_batches: int, dataset, samples: Dict[str, int], global_batch: int,
                      drop_last: bool, world_size: int) -> None:
    """Raise :class:`NoTrainingDataError` when an epoch has no batch.

    Args:
        num_batches (int): Global batches planned for the epoch.
        dataset: The dataset (its ``describe()``, when it has one, is quoted: samples,
            records and every counted problem per file).
        samples (dict[str, int]): Samples per language.
        global_batch (int): Samples per global batch (``batch_size * world_size``).
        drop_last (bool): Whether incomplete batches are dropped.
        world_size (int): Number of ranks.
    """
    if num_batches:
        return
    total = sum(samples.values())
    if total == 0:
        why = ('the dataset has no usable sample (every record was dropped as a bad record, '
               'or the annotation files hold none)')
    elif drop_last:
        why = (f'every language has fewer samples than one global batch of {global_batch} '
               f'(batch_size x {world_size} rank(s)) and drop_last=True; lower batch_size '
               'or add data')
    else:
        why = f'every language has fewer samples than the {world_size} ranks'
    text = dataset.describe() if hasattr(dataset, 'describe') else \
        f'{type(dataset).__name__}: {len(dataset)} samples'
    raise NoTrainingDataError(f'no training batch: {why}. Samples per language: {samples}.\n'
                              f'{text}')
