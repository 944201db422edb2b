"""A crafted pickle never runs through any loader of fgclip2_mm: checkpoints (torch and
safetensors), checkpoint folders, the text-embedding cache, the annotation index cache."""
import json
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.runner.checkpoint import _load_checkpoint
from safetensors import SafetensorError

import fgclip2_mm  # noqa: F401  (registers the safe checkpoint loader)
from fgclip2_mm.apis import load_fgclip2
from fgclip2_mm.datasets import FGCLIP2FineHARDDataset
from fgclip2_mm.datasets.record_index import cache_stem
from fgclip2_mm.engine import load_checkpoint_file
from fgclip2_mm.text.embeddings import TextEmbeddingCache
from fgclip2_mm.models.utils import arch_to_hf_config, get_arch


class _Evil:
    """Unpickling it would create ``MARKER`` (a harmless stand-in for arbitrary code)."""
    marker = ''

    def __reduce__(self):
        return (open, (self.marker, 'w'))


@pytest.fixture
def evil(tmp_path):
    _Evil.marker = str(tmp_path / 'EXECUTED')
    path = tmp_path / 'evil.pkl'
    torch.save({'state_dict': {}, 'payload': _Evil()}, path)
    yield path.read_bytes()
    assert not os.path.exists(_Evil.marker), 'the crafted pickle was executed'


def _hf_folder(folder, weights: bytes):
    folder.mkdir()
    (folder / 'config.json').write_text(json.dumps(arch_to_hf_config(get_arch('tiny'))))
    (folder / 'model.safetensors').write_bytes(weights)
    return folder


# (id, loader called with (tmp_path, crafted bytes), expected exception, message)
ROWS = [
    ('torch_checkpoint', lambda tmp, data: load_checkpoint_file(_put(tmp / 'x.pth', data)),
     pickle.UnpicklingError, 'allow-list'),
    ('mmengine_load_from', lambda tmp, data: _load_checkpoint(_put(tmp / 'x.pth', data)),
     pickle.UnpicklingError, 'allow-list'),
    ('pickle_named_safetensors', lambda tmp, data: load_checkpoint_file(
        _put(tmp / 'x.safetensors', data)), SafetensorError, ''),
    ('checkpoint_folder', lambda tmp, data: load_fgclip2(str(_hf_folder(tmp / 'ckpt', data))),
     SafetensorError, ''),
    ('text_embedding_cache', lambda tmp, data: TextEmbeddingCache(str(tmp)).load(
        _put(tmp / 'k.safetensors', data) and 'k'), SafetensorError, ''),
]


def _put(path, data):
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize('row_id, load, error, message', ROWS, ids=[r[0] for r in ROWS])
def test_crafted_pickle_is_refused(tmp_path, evil, row_id, load, error, message):
    with pytest.raises(error, match=message):
        load(tmp_path, evil)


def test_crafted_index_cache_is_ignored_and_rebuilt(tmp_path, evil):
    record = {'f_path': 'a.png', 'short_caption': 'a cat', 'bbox_info': []}
    (tmp_path / 'a.png').write_bytes(b'')
    ann = tmp_path / 'ann.jsonl'
    ann.write_text(json.dumps(record) + '\n')
    assert len(FGCLIP2FineHARDDataset(str(ann), data_root=str(tmp_path))) == 1
    spans = f'{cache_stem(str(ann), "fgclip2idx")}.spans.npy'
    assert os.path.isfile(spans)
    np.save(spans, np.array([_Evil()], dtype=object), allow_pickle=True)  # crafted cache
    dataset = FGCLIP2FineHARDDataset(str(ann), data_root=str(tmp_path))
    assert len(dataset) == 1 and dataset.get_data_info(0)['caption_short'] == 'a cat'
