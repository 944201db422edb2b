"""The one zero-shot loop: model.test_step with the model's own data preprocessor, equal
to an independent one-image-at-a-time computation (predictions and metrics), and the
predict path's errors."""
import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator

from fgclip2_mm.utils.naflex import PATCH_BUDGET_BUCKETS
from fgclip2_mm.evaluation import FGCLIP2ZeroShotHead, attach_head, run_zero_shot_tasks
from fgclip2_mm.models import FGCLIP2
from fgclip2_mm.models.data_preprocessors import FGCLIP2DataPreprocessor
from fgclip2_mm.registry import DATASETS, METRICS
from fgclip2_mm.structures import FGCLIP2DataSample
from fgclip2_mm.utils.build import build_owned
from .helpers import FIELDS, TASKS, Recorder, independent_predictions, task_configs


def _pairs(world, batch_size=5):
    pairs = []
    for cfg in task_configs(world):
        dataset = build_owned(cfg['dataset'], DATASETS)
        recorder = Recorder()
        evaluator = Evaluator([build_owned(cfg['metric'], METRICS), recorder])
        evaluator.dataset_meta = dataset.metainfo
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size,
                                             collate_fn=pseudo_collate)
        pairs.append((loader, evaluator, recorder, cfg['metric']))
    return pairs


class _KeepSamples(Recorder):
    """A Recorder that keeps the whole sample dict (to re-score other predictions)."""

    def process(self, data_batch, data_samples) -> None:
        self.results.extend(copy.deepcopy(list(data_samples)))

    def compute_metrics(self, results) -> dict:
        self.recorded = {r['sample_idx']: r for r in results}
        return {}


@pytest.mark.parametrize('pad_to', ['longest', 'bucket'])
def test_loop_equals_an_independent_computation(eval_world, tiny_model, pad_to):
    """Every task's predictions and metrics through run_zero_shot_tasks (batches of 5,
    FG-OVD records of one image de-duplicated, memo shared across tasks, the model's
    data preprocessor with ``pad_to``) equal a per-image computation with the official
    inference methods, scored by a fresh metric."""
    model = copy.deepcopy(tiny_model)
    model.data_preprocessor = FGCLIP2DataPreprocessor(pad_to=pad_to)
    lengths = []
    model.data_preprocessor.register_forward_hook(
        lambda module, args, out: lengths.append(out['inputs']['pixel_values'].shape[1]))
    world = eval_world + '/'
    pairs = _pairs(world)
    keepers = []
    for loader, evaluator, _, _ in pairs:
        keepers.append(_KeepSamples())
        evaluator.metrics.append(keepers[-1])
    head = FGCLIP2ZeroShotHead(world + 'tokenizer', cache_dir=None)
    metrics = run_zero_shot_tasks(model, [p[:2] for p in pairs], head)
    assert len(lengths) == sum(len(p[0]) for p in pairs)  # every batch was preprocessed
    if pad_to == 'bucket':
        assert set(lengths) <= set(PATCH_BUDGET_BUCKETS)
    for (loader, _, recorder, metric_cfg), keeper, name in zip(pairs, keepers, TASKS):
        expected = independent_predictions(model, loader.dataset, world + 'tokenizer')
        assert sorted(recorder.recorded) == sorted(expected) == list(range(len(loader.dataset)))
        rescored = []
        for idx, fields in expected.items():
            for key in FIELDS:
                assert (key in fields) == (key in recorder.recorded[idx]), (name, key)
                if key in fields:
                    assert torch.allclose(recorder.recorded[idx][key], fields[key],
                                          atol=1e-5), (name, idx, key)
            rescored.append(dict(keeper.recorded[idx], **fields))
        metric = build_owned(metric_cfg, METRICS)
        metric.dataset_meta = loader.dataset.metainfo
        metric.process(None, rescored)
        independent = metric.evaluate(len(loader.dataset))
        assert independent and all(metrics[k] == v for k, v in independent.items()), name


def test_zero_shot_batch_needs_a_head(eval_world):
    from fgclip2_mm.datasets import FGCLIP2BoxClsDataset
    torch.manual_seed(0)
    model = FGCLIP2(arch='tiny').eval()
    ds = FGCLIP2BoxClsDataset(ann_file='annotations/instances_val.json', data_root=eval_world,
                              vocabulary='colour_shape', templates='synthetic_bare_en')
    batch = pseudo_collate([ds[0]])
    with pytest.raises(ValueError, match='zero_shot_head'):
        model.test_step(batch)
    head = FGCLIP2ZeroShotHead(eval_world + '/tokenizer', cache_dir=None)
    attach_head(model, head)
    with pytest.raises(ValueError, match=r'prepare\(dataset.metainfo\)'):
        model.test_step(batch)
    with pytest.raises(ValueError, match='no zero-shot predict path'):
        attach_head(torch.nn.Linear(2, 2), head)
    with pytest.raises(ValueError, match="eval_task=None"):
        head.prepare(dict(classes=('a', )))
    with pytest.raises(ValueError, match='stage must be one of'):
        run_zero_shot_tasks(model, [], head, stage='train')


def test_plain_predict_batches_keep_the_embedding_path():
    """Batches without eval_task still get their embeddings (mode='predict')."""
    torch.manual_seed(0)
    model = FGCLIP2(arch='tiny').eval()
    ids = torch.randint(1, 60, (2, model.text_encoder.max_len))
    out = model(dict(input_ids=ids), [FGCLIP2DataSample(), FGCLIP2DataSample()], 'predict')
    assert torch.allclose(out[1].text_embeds, model.get_text_features(ids)[1], atol=1e-6)


def test_preprocessor_pads_a_failed_load_as_an_empty_image():
    """The placeholder of a failed load (inputs (0, 0), no spatial_shape) is an empty row,
    whatever the padding mode; its neighbours keep their patches."""
    ok = FGCLIP2DataSample(metainfo=dict(spatial_shape=(2, 3), num_patches_budget=256))
    bad = FGCLIP2DataSample(metainfo=dict(load_failed=True))
    patches = torch.randn(6, 48)
    for pad_to, length in (('longest', 6), ('budget', 256), ('bucket', 128)):
        out = FGCLIP2DataPreprocessor(pad_to=pad_to)(
            dict(inputs=[torch.zeros(0, 0), patches], data_samples=[bad, ok]))['inputs']
        assert out['pixel_values'].shape == (2, length, 48)
        assert out['spatial_shapes'].tolist() == [[0, 0], [2, 3]]
        assert out['pixel_attention_mask'].sum(1).tolist() == [0, 6]
        assert torch.equal(out['pixel_values'][1, :6], patches)
    with pytest.raises(ValueError, match='data sample 0 has no "spatial_shape"'):
        FGCLIP2DataPreprocessor()(dict(inputs=[patches], data_samples=[FGCLIP2DataSample()]))
