"""Each metric on hand-computed tiny cases, failed-sample accounting, and distributed
collection (shards with sampler padding, simulated; and real 2-process gloo)."""
import datetime
import os

import pytest
import torch
import torch.distributed as dist

from fgclip2_mm.evaluation import (FGCLIP2BoxClsMetric, FGCLIP2FGOVDMetric,
                                   FGCLIP2ImageClsMetric, FGCLIP2RetrievalMetric)
from fgclip2_mm.testing import spawn_and_join


def box_sample(idx, scores, labels, failed=False):
    sample = dict(sample_idx=idx, eval_task='box_cls', gt_labels=labels)
    if failed:
        sample['load_failed'] = True
    else:
        sample['pred_scores'] = torch.tensor(scores)
    return sample


def run_metric(metric, batches, size):
    for batch in batches:
        metric.process(None, batch)
    return metric.evaluate(size)


def test_box_cls_by_hand_with_ties_and_a_failed_image():
    metric = FGCLIP2BoxClsMetric(topk=(1, 2))
    samples = [
        box_sample(0, [[0.9, 0.1, 0.0], [0.2, 0.2, 0.1]], [0, 1]),  # hit; tie -> rank 1
        box_sample(1, [[0.1, 0.5, 0.6]], [1]),  # rank 1
        box_sample(2, None, [2, 0, 1], failed=True),  # 3 boxes, all wrong
    ]
    out = run_metric(metric, [samples[:2], samples[2:]], 3)
    assert out['box_cls/top1'] == pytest.approx(1 / 6)
    assert out['box_cls/top2'] == pytest.approx(3 / 6)
    assert out['box_cls/num_boxes'] == 6 and out['box_cls/num_images'] == 3
    assert out['box_cls/num_failed_images'] == 1 and out['box_cls/num_failed_boxes'] == 3


def test_image_cls_by_hand():
    metric = FGCLIP2ImageClsMetric(topk=(1, ))
    samples = [dict(sample_idx=i, eval_task='image_cls', gt_label=label,
                    pred_scores=torch.tensor(s))
               for i, (s, label) in enumerate([([0.3, 0.3], 0), ([0.3, 0.3], 1), ([0, 1.], 1)])]
    samples.append(dict(sample_idx=3, eval_task='image_cls', gt_label=0, load_failed=True))
    out = run_metric(metric, [samples], 4)
    assert out == {'zeroshot_cls/top1': 0.5, 'zeroshot_cls/num_images': 4,
                   'zeroshot_cls/num_failed': 1}


def test_fgovd_reference_tie_rule_and_short_records():
    rows = [([0.5, 0.2, 0.3], 2), ([0.4, 0.4, 0.2], 2), ([0.1, 0.6, 0.3], 2),
            ([0.7] + [0.03] * 10, 10)]
    samples = [dict(sample_idx=i, eval_task='fgovd', pred_scores=torch.tensor(s),
                    num_negatives=n) for i, (s, n) in enumerate(rows)]
    samples.append(dict(sample_idx=4, eval_task='fgovd', num_negatives=10, load_failed=True))
    out = run_metric(FGCLIP2FGOVDMetric(prefix='hard'), [samples], 5)
    assert out['hard/acc'] == pytest.approx(3 / 5)  # the tie counts, the failed one does not
    assert out['hard/acc_strict'] == pytest.approx(2 / 5)
    assert out['hard/num_ties'] == 1 and out['hard/num_records'] == 5
    assert out['hard/num_short_negatives'] == 3 and out['hard/num_failed'] == 1


def retrieval_samples():
    """3 images with 2, 1, 1 captions in 2-d; scores are easy to compute by hand."""
    images = [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]]
    texts = [[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0]], [[1.0, 0.0]]]
    return [dict(sample_idx=i, eval_task='retrieval', image_embeds=torch.tensor(img),
                 text_embeds=torch.tensor(txt)) for i, (img, txt) in enumerate(zip(images, texts))]


EXPECTED_RETRIEVAL = {
    # texts: t0=(1,0) t1=(0,1) of image 0, t2=(0,1) of image 1, t3=(1,0) of image 2.
    # i2t: image 0 scores t0..t3 = 1, 0, 0, 1: t0 first -> rank 0. image 1: 0, 1, 1, 0:
    # t1 ties t2 with a lower index -> rank 1. image 2 (0.6, 0.8): .6 .8 .8 .6: t1, t2
    # above t3 and t0 ties it with a lower index -> rank 3.
    'retrieval/i2t_r1': 1 / 3, 'retrieval/i2t_r2': 2 / 3, 'retrieval/i2t_r3': 2 / 3,
    'retrieval/i2t_r4': 1.0,
    # t2i: images scored for t0: 1, 0, .6 -> rank 0. t1: 0, 1, .8 -> image 0 last, rank 2.
    # t2 -> image 1 first, rank 0. t3: 1, 0, .6 -> image 2 second, rank 1.
    'retrieval/t2i_r1': 2 / 4, 'retrieval/t2i_r2': 3 / 4, 'retrieval/t2i_r3': 1.0,
    'retrieval/t2i_r4': 1.0,
}


def test_retrieval_by_hand():
    out = run_metric(FGCLIP2RetrievalMetric(ks=(1, 2, 3, 4)), [retrieval_samples()], 3)
    assert set(out) == set(EXPECTED_RETRIEVAL) | {
        'retrieval/num_images', 'retrieval/num_texts', 'retrieval/num_failed'}
    for key, value in EXPECTED_RETRIEVAL.items():
        assert out[key] == pytest.approx(value), key
    assert out['retrieval/num_images'] == 3 and out['retrieval/num_texts'] == 4


def test_retrieval_failed_image_is_a_miss_both_ways():
    samples = retrieval_samples()
    samples[1] = dict(sample_idx=1, eval_task='retrieval', load_failed=True,
                      text_embeds=samples[1]['text_embeds'])
    out = run_metric(FGCLIP2RetrievalMetric(ks=(1, 4), prefix='r'), [samples], 3)
    assert out['r/i2t_r4'] == pytest.approx(2 / 3)  # image 1 cannot be a query
    assert out['r/t2i_r4'] == pytest.approx(3 / 4)  # the caption of image 1 has no target
    assert out['r/num_failed'] == 1 and out['r/num_texts'] == 4


def test_sharded_results_with_padding_equal_one_process():
    """Shards as two ranks of DefaultSampler see them (interleaved, the last rank padded
    with a repeat of sample 0), merged in a *different* order: same metrics."""
    samples = retrieval_samples()
    single = run_metric(FGCLIP2RetrievalMetric(ks=(1, 2)), [samples], 3)
    shards = [[samples[0], samples[2]], [samples[1], samples[0]]]
    merged = FGCLIP2RetrievalMetric(ks=(1, 2))
    for shard in reversed(shards):
        merged.process(None, shard)
    merged._size = 3
    assert {f'retrieval/{k}': v for k, v in merged.compute_metrics(merged.results).items()} \
        == single
    incomplete = FGCLIP2RetrievalMetric()
    incomplete.process(None, shards[0])
    incomplete._size = 3
    with pytest.raises(ValueError, match='1 missing'):
        incomplete.compute_metrics(incomplete.results)


def test_metric_explains_a_missing_prediction():
    metric = FGCLIP2BoxClsMetric()
    with pytest.raises(ValueError, match='FGCLIP2ValLoop'):
        metric.process(None, [dict(sample_idx=0, eval_task='box_cls', gt_labels=[0])])
    with pytest.raises(ValueError, match="eval_task='box_cls'"):
        metric.process(None, [dict(sample_idx=0, eval_task='fgovd')])


def _gloo_worker(rank, world_size, folder):
    dist.init_process_group('gloo', init_method=f'file://{folder}/store', rank=rank,
                            world_size=world_size, timeout=datetime.timedelta(seconds=60))
    try:
        samples = retrieval_samples()
        # DefaultSampler(round_up=True): rank r gets indices [r::W] of [0, 1, 2, 0].
        shard = [samples[i] for i in [0, 1, 2, 0][rank::world_size]]
        metric = FGCLIP2RetrievalMetric(ks=(1, 2, 3, 4))
        metric.process(None, shard)
        torch.save(metric.evaluate(3), os.path.join(folder, f'rank{rank}.pt'))
        dist.barrier()  # no rank tears gloo down while the other still has work in flight
    finally:
        dist.destroy_process_group()


@pytest.mark.dist
def test_retrieval_metric_collects_over_two_gloo_ranks(tmp_path):
    spawn_and_join(_gloo_worker, args=(2, str(tmp_path)), nprocs=2)
    for rank in range(2):
        out = torch.load(tmp_path / f'rank{rank}.pt')
        for key, value in EXPECTED_RETRIEVAL.items():
            assert out[key] == pytest.approx(value), (rank, key)
        assert out['retrieval/num_images'] == 3 and out['retrieval/num_texts'] == 4
