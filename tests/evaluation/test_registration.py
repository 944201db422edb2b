"""The evaluation classes build by scoped name from the mmengine root registries under
any default scope (plain, mmdet, mmseg), and building never mutates the config."""
import copy

import pytest
from mmengine.registry import DATASETS, METRICS, MODELS, DefaultScope

METRIC_CFGS = [dict(type='fgclip2_mm.FGCLIP2BoxClsMetric', topk=(1, 5)),
               dict(type='fgclip2_mm.FGCLIP2FGOVDMetric', prefix='hard'),
               dict(type='fgclip2_mm.FGCLIP2RetrievalMetric', ks=[1, 5]),
               dict(type='fgclip2_mm.FGCLIP2ImageClsMetric')]


@pytest.mark.parametrize('host', [None, 'mmdet', 'mmseg'])
def test_scoped_build_under_host_scopes(host, eval_world, tiny_folder):
    if host is not None:
        pytest.importorskip(f'{host}.registry')
    dataset_cfg = dict(type='fgclip2_mm.FGCLIP2FGOVDDataset', data_root=eval_world,
                       ann_file='annotations/fgovd_hard_zh_val.jsonl', lang='zh')
    model_cfg = dict(type='fgclip2_mm.FGCLIP2FromFolder', path=tiny_folder)
    cfgs = copy.deepcopy([dataset_cfg, model_cfg] + METRIC_CFGS)
    with DefaultScope.overwrite_default_scope(host):
        dataset = DATASETS.build(dataset_cfg)
        model = MODELS.build(model_cfg)
        metrics = [METRICS.build(cfg) for cfg in METRIC_CFGS]
    assert cfgs == [dataset_cfg, model_cfg] + METRIC_CFGS
    assert dataset.metainfo['eval_task'] == 'fgovd' and len(dataset) > 0
    assert type(model).__name__ == 'FGCLIP2' and not model.training
    assert [type(m).__name__ for m in metrics] == [c['type'].split('.')[1] for c in METRIC_CFGS]


def test_loops_are_registered():
    from mmengine.registry import LOOPS
    import fgclip2_mm.engine  # noqa: F401
    for name in ('FGCLIP2ValLoop', 'FGCLIP2TestLoop'):
        assert LOOPS.get(f'fgclip2_mm.{name}') is not None
