"""One key schema (``fgclip2_mm.structures.batch_keys``) for packing, the data preprocessor
and the model: the tables they use are the schema's, no module spells a batch key the
schema lacks, and every schema field goes from the pipeline to the model's embeddings."""
import ast
import re
from pathlib import Path

import numpy as np
import torch

import fgclip2_mm
from fgclip2_mm.datasets.transforms import (FGCLIP2PackInputs, FGCLIP2SampleRegions,
                                            FGCLIP2Tokenize)
from fgclip2_mm.datasets.transforms import formatting
from fgclip2_mm.models.data_preprocessors import FGCLIP2DataPreprocessor
from fgclip2_mm.models.data_preprocessors import fgclip2_preprocessor
from fgclip2_mm.models.vlms import fgclip2
from fgclip2_mm.structures import batch_keys as bk

PACKAGE = Path(fgclip2_mm.__file__).parent
#: The modules a batch key passes through (the three tables and their neighbours).
MODULES = ('datasets/transforms/regions.py', 'datasets/transforms/tokenize.py',
           'datasets/transforms/formatting.py',
           'models/data_preprocessors/fgclip2_preprocessor.py', 'models/vlms/fgclip2.py',
           'models/vlms/train_features.py')
#: What a batch key looks like (pipeline texts, sample fields, input ids, masks, images).
KEY_LIKE = re.compile(r'^(short_text|long_text|text_(?!keys$)[a-z]+|[a-z]+_texts|'
                      r'([a-z]+_)?input_ids|[a-z]+_valid|region_boxes|pixel_[a-z_]+|'
                      r'spatial_shapes|attention_mask)$')


def _schema_names() -> set:
    names = set(bk.IMAGE_KEYS + bk.EXTRA_INPUT_KEYS + bk.IMAGE_EMBED_KEYS + bk.META_KEYS)
    for field in bk.TEXT_FIELDS:
        names |= {field.pipeline_key, field.sample_key, field.input_key, field.embed_key}
    for field in bk.SLOT_FIELDS:
        names |= {field.sample_key, field.input_key}
    return names


def _key_literals(path: Path) -> set:
    tree = ast.parse(path.read_text(encoding='utf-8'))
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and KEY_LIKE.match(node.value)}


def test_the_tables_are_the_schema():
    assert formatting.DEFAULT_TEXT_KEYS == bk.PACK_TEXT_KEYS == tuple(
        f.sample_key for f in bk.TEXT_FIELDS)
    assert formatting.DEFAULT_DATA_KEYS == bk.PACK_SLOT_KEYS
    assert formatting.DEFAULT_META_KEYS == bk.META_KEYS
    assert fgclip2_preprocessor.DEFAULT_TEXT_KEYS is bk.PREPROCESS_TEXT_KEYS
    assert fgclip2_preprocessor.DEFAULT_DATA_KEYS is bk.PREPROCESS_SLOT_KEYS
    assert fgclip2_preprocessor.IMAGE_KEYS is bk.IMAGE_KEYS
    assert fgclip2.TEXT_INPUTS is bk.MODEL_TEXT_INPUTS
    assert fgclip2.MASK_KEYS is bk.MODEL_MASK_KEYS
    # Preprocessor outputs are exactly the model's non-image, non-extra inputs.
    produced = set(bk.PREPROCESS_TEXT_KEYS.values()) | set(bk.PREPROCESS_SLOT_KEYS.values())
    assert produced | set(bk.IMAGE_KEYS) | set(bk.EXTRA_INPUT_KEYS) == set(bk.MODEL_INPUT_KEYS)
    assert len(set(bk.MODEL_INPUT_KEYS)) == len(bk.MODEL_INPUT_KEYS)
    built = FGCLIP2Tokenize(tokenizer=dict(folder=str(PACKAGE)))  # any folder: built lazily
    assert built.keys == bk.tokenize_keys()


def test_no_module_spells_a_key_the_schema_lacks():
    known = _schema_names()
    for module in MODULES:
        literals = _key_literals(PACKAGE / module)
        assert literals <= known, f'{module} spells batch keys outside ' \
            f'fgclip2_mm/structures/batch_keys.py: {sorted(literals - known)}'
    # The scan sees keys: the model and the losses' feature builder do spell some.
    assert {'input_ids', 'hardneg_input_ids', 'region_valid'} <= \
        _key_literals(PACKAGE / 'models/vlms/train_features.py')
    assert not KEY_LIKE.match('logit_scale') and KEY_LIKE.match('foo_input_ids')


def test_every_schema_field_reaches_the_model(tiny_model, tiny_tokenizer_dir):
    record = dict(img_path='x.jpg', sample_idx=0, lang='en', caption_short='red cat',
                  caption_long='a red cat on the grass',
                  regions=[dict(bbox=[0.1, 0.1, 0.6, 0.9], short_expr='red cat',
                                long_expr=None, hard_negatives=['blue cat', 'red dog'])])
    results = FGCLIP2SampleRegions(max_boxes=2, num_negatives=2)(dict(record))
    produced = {f.pipeline_key for f in bk.TEXT_FIELDS} | set(bk.PACK_SLOT_KEYS)
    assert produced == set(results) - set(record)
    results = FGCLIP2Tokenize(tokenizer=dict(folder=str(tiny_tokenizer_dir)))(results)
    samples = []
    for shape in ((2, 3), (3, 3)):
        packed = FGCLIP2PackInputs()(dict(results, spatial_shape=shape,
                                          patches=np.ones((shape[0] * shape[1], 768),
                                                          np.float32)))
        samples.append(packed)
    sample = samples[0]['data_samples']
    assert set(bk.PACK_TEXT_KEYS + bk.PACK_SLOT_KEYS) <= set(sample.keys())
    batch = FGCLIP2DataPreprocessor()(dict(inputs=[s['inputs'] for s in samples],
                                           data_samples=[s['data_samples'] for s in samples]))
    inputs = batch['inputs']
    assert set(inputs) == set(bk.MODEL_INPUT_KEYS) - set(bk.EXTRA_INPUT_KEYS)
    assert inputs['hardneg_input_ids'].shape == (2, 2, 3, 64)
    assert inputs['region_valid'].dtype == torch.bool
    with torch.no_grad():
        feats = tiny_model(inputs, mode='tensor')
    assert set(feats) == {f.embed_key for f in bk.TEXT_FIELDS} | set(bk.IMAGE_EMBED_KEYS)
    assert feats['hardneg_text_embeds'].shape == (2, 2, 3, 32)
