"""``FGCLIP2SegVocabularyCheckHook``: refuse a vocabulary that does not fit the label maps."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from fgclip2_mm.registry import HOOKS
from .base import FGCLIP2OVSegmentorBase


def check_label_space(num_model_labels: int, metainfo: dict, model_names, source: str) -> None:
    """Raise when a segmentor writes another number of labels than the dataset's classes.

    mmseg's ``IoUMetric`` counts pixels with a histogram over the dataset's classes: a
    predicted label beyond them is dropped silently, and a vocabulary with fewer classes
    leaves dataset classes that are never predicted. Both give a wrong mIoU without an
    error; a training vocabulary shorter than the label maps is caught by the heads' label
    check, a longer one only here.

    Args:
        num_model_labels (int): Labels the model predicts (or trains on).
        metainfo (dict): The dataset metainfo (``classes``).
        model_names (Sequence[str]): The model's class names, for the message.
        source (str): Which dataset, for the message.

    Raises:
        ValueError: The counts differ (the message lists both vocabularies), or the
            metainfo has no classes.
    """
    classes = list((metainfo or {}).get('classes') or [])
    if not classes:
        raise ValueError(f'{source} dataset metainfo has no "classes" to check the '
                         'segmentor vocabulary against')
    if num_model_labels != len(classes):
        raise ValueError(
            f'the segmentor predicts {num_model_labels} labels but the {source} dataset has '
            f'{len(classes)} classes; vocabulary {list(model_names)} vs dataset classes '
            f'{classes}. Set the vocabulary from the dataset (vocabulary=dict(dataset=...)) '
            'or map the prediction classes with class_to_label')


@HOOKS.register_module()
class FGCLIP2SegVocabularyCheckHook(Hook):
    """Before training / validation / testing, compare the segmentor's label count (training
    vocabulary; prediction vocabulary or ``class_to_label``) with the dataset's classes and
    raise with both lists when they differ (see :func:`check_label_space`)."""

    priority = 'VERY_LOW'

    @staticmethod
    def _model(runner):
        """The FG-CLIP 2 segmentor, or None for another model (e.g. a host's baseline
        sharing the project runtime), which the hook leaves alone."""
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        return model if isinstance(model, FGCLIP2OVSegmentorBase) else None

    def before_train(self, runner) -> None:
        """The training vocabulary against the training set's classes."""
        model = self._model(runner)
        if model is not None:
            vocab = model.vocabulary('train')
            check_label_space(vocab.num_classes,
                              runner.train_loop.dataloader.dataset.metainfo, vocab.names,
                              'train')

    def _check_eval(self, model, dataloader, source: str) -> None:
        if model is not None:
            check_label_space(model.num_output_labels, dataloader.dataset.metainfo,
                              model.class_names, source)

    def before_val(self, runner) -> None:
        """The predicted labels against the validation set's classes."""
        self._check_eval(self._model(runner), runner.val_loop.dataloader, 'val')

    def before_test(self, runner) -> None:
        """The predicted labels against the test set's classes."""
        self._check_eval(self._model(runner), runner.test_loop.dataloader, 'test')
