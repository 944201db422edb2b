"""``FGCLIP2DataPreprocessor``: pad NaFlex patches, stack token ids, move to the device.

mmcv-free: depends on torch and mmengine only. It never tokenises (that is
``FGCLIP2Tokenize``, in the dataloader workers) and never resizes (``FGCLIP2NaFlexPatchify``).
"""
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor

from ...utils.naflex import PATCH_BUDGET_BUCKETS, collate_naflex
from ...registry import MODELS
from ...structures.batch_keys import IMAGE_KEYS, PREPROCESS_SLOT_KEYS, PREPROCESS_TEXT_KEYS

PAD_MODES = ('longest', 'budget', 'bucket')
PIXEL_DTYPES = {'float32': torch.float32, 'float16': torch.float16, 'bfloat16': torch.bfloat16}
#: Data-sample field -> model input key of the token ids (``structures.batch_keys``).
DEFAULT_TEXT_KEYS = PREPROCESS_TEXT_KEYS
#: Data-sample field -> model input key for the region slots and validity masks of
#: ``FGCLIP2SampleRegions`` (stacked with their own dtype; ``structures.batch_keys``).
DEFAULT_DATA_KEYS = PREPROCESS_SLOT_KEYS


@MODELS.register_module()
class FGCLIP2DataPreprocessor(BaseDataPreprocessor):
    """Batch the outputs of ``FGCLIP2PackInputs`` for the FG-CLIP 2 model.

    Input (``pseudo_collate`` or ``default_collate`` of packed samples)::

        dict(inputs=[Tensor (h_i * w_i, 3 * p * p), ...] or Tensor (B, n, 3 * p * p),
             data_samples=[FGCLIP2DataSample, ...])

    Output::

        dict(inputs=dict(pixel_values=Tensor (B, N, 3 * p * p),      # zero padding rows
                         pixel_attention_mask=Tensor (B, N) int32,     # 1 for the h*w rows
                         spatial_shapes=Tensor (B, 2) int64,           # (h, w)
                         input_ids=Tensor (B, 64) int64, ...,          # one per text key
                         region_boxes=Tensor (B, K, 4) float32, ...),  # one per data key
             data_samples=[FGCLIP2DataSample, ...])

    everything on :attr:`device`. ``inputs`` may also be ``None`` (text-only batch) or an
    already batched dict with the three image keys (passed through). Each data-sample field
    of ``text_keys`` that is present in the samples is stacked along a new first dimension
    (per-sample shape (L,) -> (B, L); (K, L) -> (B, K, L); (K, T, L) -> (B, K, T, L), which
    needs the same K in every sample: pad region texts to fixed slots in the pipeline, see
    ``FGCLIP2SampleRegions``). The pretraining batch then holds ``input_ids`` (B, 64),
    ``long_input_ids`` (B, 196), ``box_input_ids`` (B, K, 64) and ``hardneg_input_ids``
    (B, K, 11, 64). Each ``data_keys`` field is stacked the same way with its own dtype:
    ``region_boxes`` (B, K, 4) float32 normalised xyxy, ``region_valid`` and ``hard_valid``
    (B, K) bool, ``long_valid`` (B,) bool.

    Padding length N (``pad_to``):

    - ``'longest'``: the largest ``h * w`` of the batch (smallest tensors).
    - ``'budget'``: the largest ``num_patches_budget`` metainfo of the batch, i.e. the FG-CLIP
      2 bucket of the batch when the patchify transform used ``dynamic_budget=True``; this is
      the reference collator's tensor length.
    - ``'bucket'``: the smallest bucket of (128, 256, 576, 784, 1024) holding the longest
      image.
    - an int: a fixed length (static shapes); an image with more patches raises.

    Args:
        pad_to (str | int): See above. Defaults to ``'longest'``.
        text_keys (dict, optional): ``{data-sample field: input key}``. Defaults to
            :data:`DEFAULT_TEXT_KEYS` (short, long, region and hard-negative ids).
        data_keys (dict, optional): ``{data-sample field: input key}`` of non-token tensors.
            Defaults to :data:`DEFAULT_DATA_KEYS` (region boxes and validity masks).
        pixel_dtype (str | torch.dtype, optional): Cast ``pixel_values`` (before the copy to
            the device) to ``'float32'``, ``'float16'`` or ``'bfloat16'``. Defaults to None
            (float32).
        non_blocking (bool): Asynchronous host-to-device copies. Defaults to False.
    """

    def __init__(self,
                 pad_to: Union[str, int] = 'longest',
                 text_keys: Optional[Dict[str, str]] = None,
                 pixel_dtype: Optional[Union[str, torch.dtype]] = None,
                 non_blocking: bool = False,
                 data_keys: Optional[Dict[str, str]] = None) -> None:
        super().__init__(non_blocking=non_blocking)
        if isinstance(pad_to, bool) or not (pad_to in PAD_MODES or
                                            (isinstance(pad_to, int) and pad_to > 0)):
            raise ValueError(f'pad_to must be one of {PAD_MODES} or a positive int, '
                             f'got {pad_to!r}')
        if isinstance(pixel_dtype, str):
            if pixel_dtype not in PIXEL_DTYPES:
                raise ValueError(f'pixel_dtype must be one of {tuple(PIXEL_DTYPES)}, '
                                 f'got {pixel_dtype!r}')
            pixel_dtype = PIXEL_DTYPES[pixel_dtype]
        elif pixel_dtype is not None and pixel_dtype not in PIXEL_DTYPES.values():
            raise ValueError(f'pixel_dtype must be a float dtype, got {pixel_dtype!r}')
        text_keys = copy.deepcopy(DEFAULT_TEXT_KEYS if text_keys is None else dict(text_keys))
        data_keys = copy.deepcopy(DEFAULT_DATA_KEYS if data_keys is None else dict(data_keys))
        for name, mapping in (('text_keys', text_keys), ('data_keys', data_keys)):
            for field, key in mapping.items():
                if not isinstance(field, str) or not isinstance(key, str) or key in IMAGE_KEYS:
                    raise ValueError(f'{name} must map str fields to str input keys other '
                                     f'than {IMAGE_KEYS}, got {field!r}: {key!r}')
        clash = sorted(set(text_keys.values()) & set(data_keys.values()))
        if clash:
            raise ValueError(f'text_keys and data_keys map to the same input keys {clash}')
        self.pad_to = pad_to
        self.text_keys = text_keys
        self.data_keys = data_keys
        self.pixel_dtype = pixel_dtype

    def _pad_length(self, shapes: List[tuple], samples: Sequence) -> Optional[int]:
        longest = max(h * w for h, w in shapes)
        if isinstance(self.pad_to, int):
            return self.pad_to
        if self.pad_to == 'longest':
            return None
        if self.pad_to == 'bucket':
            for bucket in PATCH_BUDGET_BUCKETS:
                if bucket >= longest:
                    return bucket
            raise ValueError(f'pad_to="bucket": {longest} patches exceed the largest bucket '
                             f'{PATCH_BUDGET_BUCKETS[-1]}')
        budgets = [sample.metainfo.get('num_patches_budget') for sample in samples
                   if not sample.metainfo.get('load_failed', False)]
        if not budgets:  # every sample is a placeholder of a failed load
            return None
        if any(budget is None for budget in budgets):
            raise ValueError('pad_to="budget" needs the "num_patches_budget" metainfo in every '
                             'data sample (set by FGCLIP2NaFlexPatchify)')
        return max(int(budget) for budget in budgets)

    def _batch_images(self, inputs, samples: Optional[Sequence]) -> Dict[str, torch.Tensor]:
        if isinstance(inputs, dict):
            missing = [key for key in IMAGE_KEYS if key not in inputs]
            if missing:
                raise ValueError(f'batched image inputs miss {missing}')
            batch = {key: inputs[key] for key in IMAGE_KEYS}
        else:
            if isinstance(inputs, torch.Tensor):
                if inputs.ndim != 3:
                    raise ValueError(f'stacked inputs must have shape (B, N, D), got '
                                     f'{tuple(inputs.shape)}')
                inputs = list(inputs)
            if samples is None or len(samples) != len(inputs):
                raise ValueError(f'{len(inputs)} images need as many data samples carrying '
                                 f'"spatial_shape", got '
                                 f'{None if samples is None else len(samples)}')
            shapes, failed = [], []
            for index, sample in enumerate(samples):
                shape = sample.metainfo.get('spatial_shape')
                # The placeholder of an image that failed to load (evaluation datasets with
                # on_error='count') is an empty image: shape (0, 0), no valid row.
                failed.append(shape is None and sample.metainfo.get('load_failed', False))
                if shape is None and not failed[-1]:
                    raise ValueError(f'data sample {index} has no "spatial_shape" metainfo')
                shapes.append((0, 0) if failed[-1] else tuple(int(v) for v in shape))
            length = self._pad_length(shapes, samples)
            dims = next((p.shape[-1] for p, bad in zip(inputs, failed) if not bad), 1)
            # default_collate may have stacked same-size images: drop rows beyond h * w.
            items = [(torch.zeros(0, dims) if bad else patches[:h * w], (h, w))
                     for patches, (h, w), bad in zip(inputs, shapes, failed)]
            batch = collate_naflex(items, length)
        if self.pixel_dtype is not None:
            batch['pixel_values'] = batch['pixel_values'].to(self.pixel_dtype)
        return batch

    def _batch_texts(self, samples: Sequence) -> Dict[str, torch.Tensor]:
        batch = {}
        fields = [(f, k, torch.long) for f, k in self.text_keys.items()]
        fields += [(f, k, None) for f, k in self.data_keys.items()]
        for field, key, dtype in fields:
            values = [sample.get(field, None) for sample in samples]
            if all(value is None for value in values):
                continue
            missing = [index for index, value in enumerate(values) if value is None]
            if missing:
                raise ValueError(f'field {field!r} is missing in data samples {missing} '
                                 f'but present in others')
            tensors = [torch.as_tensor(value, dtype=dtype) for value in values]
            shapes = {tuple(tensor.shape) for tensor in tensors}
            if len(shapes) != 1:
                raise ValueError(f'field {field!r} has different shapes in one batch: '
                                 f'{sorted(shapes)}; pad to a fixed count in the pipeline')
            batch[key] = torch.stack(tensors)
        return batch

    def forward(self, data: dict, training: bool = False) -> dict:
        """Pad, stack and move one collated batch.

        Args:
            data (dict): ``inputs`` and ``data_samples`` from the dataloader.
            training (bool): Unused (no batch augmentation). Defaults to False.

        Returns:
            dict: ``inputs`` (dict of tensors, see the class docstring) and ``data_samples``.
        """
        if not isinstance(data, dict):
            raise ValueError(f'expected the dict of a collated batch, got {type(data)}')
        inputs = data.get('inputs')
        samples = data.get('data_samples')
        batched = {}
        if inputs is not None and not (isinstance(inputs, (list, tuple)) and not inputs):
            batched.update(self._batch_images(inputs, samples))
        if samples:
            batched.update(self._batch_texts(samples))
        return self.cast_data({'inputs': batched, 'data_samples': samples})
