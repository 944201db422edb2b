"""The keys of one pretraining batch, from the pipeline to the model: the one table.

A FineHARD / Chinese-pair sample changes keys twice on its way to the model:

1. :class:`~fgclip2_mm.datasets.transforms.FGCLIP2SampleRegions` writes the texts under
   their **pipeline key** (``short_text``, ``region_texts``, ...) and the region slots and
   masks under theirs; :class:`~fgclip2_mm.datasets.transforms.FGCLIP2Tokenize` turns each
   text into token ids under its **sample key** (``text_short``, ``box_texts``, ...), which
   :class:`~fgclip2_mm.datasets.transforms.FGCLIP2PackInputs` stores, with the slots, as
   data fields of :class:`~fgclip2_mm.structures.FGCLIP2DataSample`.
2. :class:`~fgclip2_mm.models.data_preprocessors.FGCLIP2DataPreprocessor` stacks every
   sample field into the **input key** of the batch (``input_ids``, ``box_input_ids``,
   ...), which :class:`~fgclip2_mm.models.vlms.FGCLIP2` reads: each text family through its
   **walk** into its **embedding key**, the slots by the losses.

The packing transform, the preprocessor and the model import their key tables from here
(``tests/models/test_batch_keys.py`` fails when a key is spelled in one of them only).
Shapes below are per sample; K region slots, T = 1 + hard negatives, L the walk's length.
"""
from typing import Dict, NamedTuple, Tuple


class TextField(NamedTuple):
    """One text family of a pretraining sample.

    Attributes:
        pipeline_key (str): Text(s) written by ``FGCLIP2SampleRegions``.
        sample_key (str): Int64 token ids in ``FGCLIP2DataSample`` (``FGCLIP2Tokenize``
            target key, ``FGCLIP2PackInputs`` text key).
        input_key (str): Batched ids read by ``FGCLIP2`` (preprocessor output key).
        walk (str): Text-tower walk that encodes them (``'short'``, ``'long'``, ``'box'``).
        embed_key (str): Embedding written by ``FGCLIP2.extract_feat``.
        shape (str): Per-sample id shape.
    """
    pipeline_key: str
    sample_key: str
    input_key: str
    walk: str
    embed_key: str
    shape: str


class SlotField(NamedTuple):
    """One region-slot or validity tensor (packed and stacked with its own dtype).

    Attributes:
        sample_key (str): Key written by ``FGCLIP2SampleRegions`` and data field of
            ``FGCLIP2DataSample`` (the same name).
        input_key (str): Batched tensor read by ``FGCLIP2`` / its losses.
        dtype (str): Element type as produced by the pipeline.
        shape (str): Per-sample shape.
    """
    sample_key: str
    input_key: str
    dtype: str
    shape: str


#: The text families, in the order the model encodes them.
TEXT_FIELDS: Tuple[TextField, ...] = (
    TextField('short_text', 'text_short', 'input_ids', 'short', 'text_embeds', '(L,)'),
    TextField('long_text', 'text_long', 'long_input_ids', 'long', 'long_text_embeds', '(L,)'),
    TextField('region_texts', 'box_texts', 'box_input_ids', 'box', 'box_text_embeds',
              '(K, L)'),
    TextField('hard_texts', 'hardneg_texts', 'hardneg_input_ids', 'box',
              'hardneg_text_embeds', '(K, T, L)'),
)
#: The region slots and validity masks.
SLOT_FIELDS: Tuple[SlotField, ...] = (
    SlotField('region_boxes', 'region_boxes', 'float32', '(K, 4) normalised xyxy'),
    SlotField('region_valid', 'region_valid', 'bool', '(K,)'),
    SlotField('hard_valid', 'hard_valid', 'bool', '(K,)'),
    SlotField('long_valid', 'long_valid', 'bool', '()'),
)
#: Input key of the region boxes (pooled by RoIAlign; the other slot fields are masks).
REGION_BOXES = 'region_boxes'
#: Batched image inputs written by the preprocessor (NaFlex padding).
IMAGE_KEYS: Tuple[str, ...] = ('pixel_values', 'pixel_attention_mask', 'spatial_shapes')
#: Model inputs that no pipeline writes: the optional short-walk mask (HF API callers).
EXTRA_INPUT_KEYS: Tuple[str, ...] = ('attention_mask', )
#: Embedding keys of the image side, written by ``FGCLIP2.extract_feat``.
IMAGE_EMBED_KEYS: Tuple[str, ...] = ('image_embeds', 'region_features')
#: Metainfo packed by ``FGCLIP2PackInputs`` (each only when present, except
#: ``spatial_shape``, which the preprocessor needs; it also reads ``num_patches_budget``).
META_KEYS: Tuple[str, ...] = ('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                              'scale_factor', 'spatial_shape', 'num_patches_budget')


def tokenize_keys() -> Dict[str, Tuple[str, str]]:
    """dict: ``{pipeline_key: (sample_key, walk)}``, the ``keys`` of ``FGCLIP2Tokenize``."""
    return {f.pipeline_key: (f.sample_key, f.walk) for f in TEXT_FIELDS}


#: ``FGCLIP2PackInputs``: token-id data fields (int64) and slot data fields (own dtype).
PACK_TEXT_KEYS: Tuple[str, ...] = tuple(f.sample_key for f in TEXT_FIELDS)
PACK_SLOT_KEYS: Tuple[str, ...] = tuple(f.sample_key for f in SLOT_FIELDS)
#: ``FGCLIP2DataPreprocessor``: ``{sample field: input key}`` for ids and for slots.
PREPROCESS_TEXT_KEYS: Dict[str, str] = {f.sample_key: f.input_key for f in TEXT_FIELDS}
PREPROCESS_SLOT_KEYS: Dict[str, str] = {f.sample_key: f.input_key for f in SLOT_FIELDS}
#: ``FGCLIP2``: ``{input key: (walk, embedding key)}`` of the text families.
MODEL_TEXT_INPUTS: Dict[str, Tuple[str, str]] = {
    f.input_key: (f.walk, f.embed_key) for f in TEXT_FIELDS}
#: ``FGCLIP2``: the validity masks, read by the losses only.
MODEL_MASK_KEYS: Tuple[str, ...] = tuple(
    f.input_key for f in SLOT_FIELDS if f.input_key != REGION_BOXES)
#: Every input key ``FGCLIP2`` accepts.
MODEL_INPUT_KEYS: Tuple[str, ...] = (IMAGE_KEYS + tuple(MODEL_TEXT_INPUTS) +
                                     tuple(f.input_key for f in SLOT_FIELDS) +
                                     EXTRA_INPUT_KEYS)
