"""A training set with no batch stops before the first step with the reason and the
dataset's counts, not with a bare ``StopIteration`` from inside mmengine's loop."""
import json

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner
from PIL import Image

from fgclip2_mm.datasets import (FGCLIP2BilingualBatchSampler, FGCLIP2ChinesePairDataset,
                                 FGCLIP2DatasetMixture, FGCLIP2FineHARDDataset)
from fgclip2_mm.datasets.no_training_data import NoTrainingDataError
from fgclip2_mm.testing import load_script


def _record(caption='a cat', **over):
    return dict({'f_path': 'good.png', 'short_caption': caption, 'bbox_info': []}, **over)


def _jsonl(records):
    return '\n'.join(json.dumps(r) for r in records) + '\n'


# (id, annotation file name, content, batch size, texts the error must contain)
ROWS = [
    ('only_bad_records', 'a.jsonl', _jsonl([_record(caption='')] * 2 + [_record(caption=5)]),
     2, ['the dataset has no usable sample', 'bad_caption=3', '0 samples from 1 file(s) with 3 '
                                                              'records']),
    ('empty_array', 'a.json', '[]', 2, ['no usable sample', 'empty_file=1']),
    ('pretty_printed_object', 'a.json', json.dumps(_record(), indent=2), 2,
     ['no usable sample', 'single_json_object=1']),
    ('fewer_than_one_batch', 'a.jsonl', _jsonl([_record(f'cat {i}') for i in range(3)]), 4,
     ['fewer samples than one global batch of 4 (batch_size x 1 rank(s)) and drop_last=True',
      "{'en': 3, 'zh': 0}", '3 samples from 1 file(s)']),
]


@pytest.fixture
def world(tmp_path):
    Image.new('RGB', (40, 30), 'red').save(tmp_path / 'good.png')
    return tmp_path


@pytest.mark.parametrize('row_id, name, content, batch_size, texts', ROWS,
                         ids=[r[0] for r in ROWS])
def test_no_batch_is_an_error_with_the_counts(world, row_id, name, content, batch_size, texts):
    (world / name).write_text(content)
    dataset = FGCLIP2FineHARDDataset(str(world / name), data_root=str(world))
    sampler = FGCLIP2BilingualBatchSampler(dataset=dataset, batch_size=batch_size, seed=0,
                                           rank=0, world_size=1)
    with pytest.raises(NoTrainingDataError) as info:
        next(iter(sampler))
    for text in texts:
        assert text in str(info.value)


def test_mixture_names_every_child(world):
    (world / 'en.jsonl').write_text(_jsonl([_record(caption='')]))
    (world / 'zh.jsonl').write_text(_jsonl([_record(f'猫 {i}', is_cn=True) for i in range(2)]))
    mixture = FGCLIP2DatasetMixture([
        FGCLIP2FineHARDDataset(str(world / 'en.jsonl'), data_root=str(world)),
        FGCLIP2ChinesePairDataset(str(world / 'zh.jsonl'), data_root=str(world))])
    sampler = FGCLIP2BilingualBatchSampler(dataset=mixture, batch_size=4, seed=0, rank=0,
                                           world_size=1)
    with pytest.raises(NoTrainingDataError) as info:
        list(sampler)
    text = str(info.value)
    assert "{'en': 0, 'zh': 2}" in text and 'bad_caption=1' in text
    assert 'datasets[0]: FGCLIP2FineHARDDataset (en): 0 samples' in text
    assert 'datasets[1]: FGCLIP2ChinesePairDataset (zh): 2 samples' in text
    # enough data: the same sampler config plans batches (the check only fires on none)
    small = FGCLIP2BilingualBatchSampler(dataset=mixture, batch_size=2, seed=0, rank=0,
                                         world_size=1)
    assert len(list(small)) == 1


class _Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))
        self.steps = 0

    def forward(self, mode='loss', **data):
        self.steps += 1
        return dict(loss=self.weight.sum() * 0 + 1.0)


def _runner(tmp_path, dataset, batch_size, num_workers=0):
    return Runner(
        model=_Toy(), work_dir=str(tmp_path / 'work'),
        train_dataloader=dict(
            batch_size=batch_size, num_workers=num_workers, dataset=dataset,
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_sampler=dict(type='fgclip2_mm.FGCLIP2BilingualBatchSampler', drop_last=True),
            collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=False, max_iters=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(checkpoint=None, logger=None), default_scope='fgclip2_mm')


@pytest.mark.parametrize('num_workers', [0, 2])
def test_runner_stops_before_the_first_step(world, num_workers):
    (world / 'a.jsonl').write_text(_jsonl([_record(f'cat {i}') for i in range(3)]))
    dataset = FGCLIP2FineHARDDataset(str(world / 'a.jsonl'), data_root=str(world))
    runner = _runner(world, dataset, batch_size=4, num_workers=num_workers)
    with pytest.raises(NoTrainingDataError, match='fewer samples than one global batch'):
        runner.train()
    assert runner.model.steps == 0
    trained = _runner(world, dataset, batch_size=3)  # one full batch: trains as before
    trained.train()
    assert trained.model.steps == 2


def test_train_script_reports_it_as_an_error(world, monkeypatch, capsys):
    train = load_script('tools/train.py')

    class _Stub:
        def train(self):
            raise NoTrainingDataError('no training batch: the dataset has no usable sample')

    (world / 'cfg.py').write_text('work_dir = "w"\n')
    monkeypatch.setattr(train.Runner, 'from_cfg', lambda cfg: _Stub())
    assert train.main([str(world / 'cfg.py')]) == 2
    assert 'tools/train.py: error: no training batch' in capsys.readouterr().err
