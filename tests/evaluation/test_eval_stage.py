"""The quick-start ``eval`` stage: skip reasons, the tasks it derives from the synthetic
configs, and (slow) a full run on a tiny world with a tiny model folder."""
import pytest

from fgclip2_mm.quickstart import eval_stage
from fgclip2_mm.quickstart.pipeline import QuickstartConfig


@pytest.mark.parametrize('pretrain,reason', [
    (None, "'missing'"), ({'status': 'not_built', 'issue': 4}, "'not_built'"),
    ({'status': 'failed'}, "'failed'"), ({'status': 'ok', 'checkpoint': 'x'}, "['tokenizer']")])
def test_skipped_without_a_pretrained_checkpoint(pretrain, reason, tmp_path):
    logs = []
    summary = {} if pretrain is None else {'pretrain': pretrain}
    out = eval_stage.run(QuickstartConfig(work_dir=str(tmp_path)), summary, logs.append)
    assert out['status'] == 'skipped' and reason in out['reason']
    assert logs and 'skipped' in logs[0]


def test_tasks_follow_the_synthetic_configs(tmp_path):
    tasks = eval_stage.synthetic_tasks(str(tmp_path))
    prefixes = [t['metric']['prefix'] for t in tasks]
    assert len(prefixes) == len(set(prefixes)) == 9
    assert {cfg for cfg, _ in eval_stage.HEADLINES.values()} == set(prefixes)
    for task in tasks:
        assert task['dataset']['data_root'] == str(tmp_path) + '/'
    long_zh = next(t for t in tasks if t['metric']['prefix'] == 'retrieval-long_zh')
    assert long_zh['dataset']['text_walk'] == 'long' and not long_zh['dataset']['lowercase']
    bars = eval_stage.check_bars(dict.fromkeys(eval_stage.HEADLINES, 0.9))
    assert all(bars.values())
    assert not eval_stage.check_bars(dict(dict.fromkeys(eval_stage.HEADLINES, 0.9),
                                          retrieval_long_t2i_r1_zh=0.2))['every_retrieval_r1>=0.3']


@pytest.mark.slow
def test_full_stage_on_a_tiny_world(eval_world, tiny_folder, tmp_path):
    config = QuickstartConfig(work_dir=str(tmp_path), data_root=eval_world)
    summary = {'pretrain': {'status': 'ok', 'checkpoint': tiny_folder,
                            'tokenizer': eval_world + '/tokenizer'}}
    out = eval_stage.run(config, summary, print)
    assert out['status'] == 'ok' and out['gallery_images'] == 16
    assert out['num_failed_samples'] == 0
    for key in eval_stage.HEADLINES:
        assert 0.0 <= out[key] <= 1.0, key
    assert set(out['bars']) == {'every_retrieval_r1>=0.3', 'box_cls_top1_en>=0.8',
                                'fgovd_hard_acc_en>=0.5'}
