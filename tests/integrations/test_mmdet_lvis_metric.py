"""The numpy-2 LVIS metric on a tiny LVIS-style set whose APs are computable by hand."""
import json

import numpy as np
import pytest
import torch

pytest.importorskip('mmdet')
pytest.importorskip('lvis')

from mmdet.evaluation import LVISMetric  # noqa: E402

from fgclip2_mm.integrations.mmdet import FGCLIP2LVISEval, FGCLIP2LVISMetric  # noqa: E402

H = W = 100
CATS = [dict(id=1, name='rare_thing', frequency='r'), dict(id=2, name='common_thing',
                                                             frequency='c'),
        dict(id=3, name='frequent_thing', frequency='f')]
# image id -> [(category id, xywh box)]
GT = {1: [(1, [10, 10, 30, 30]), (3, [50, 50, 40, 40])],
      2: [(1, [5, 5, 20, 20]), (2, [40, 10, 30, 50]), (3, [10, 60, 30, 30])]}


def write_gt(path, lvis_fields=True, frequency=True):
    images, anns = [], []
    for img_id, objects in GT.items():
        img = dict(id=img_id, width=W, height=H, file_name=f'{img_id}.jpg')
        if lvis_fields:
            present = {c for c, _ in objects}
            img.update(neg_category_ids=[c['id'] for c in CATS if c['id'] not in present],
                       not_exhaustive_category_ids=[])
        images.append(img)
        for cat, (x, y, w, h) in objects:
            anns.append(dict(id=len(anns) + 1, image_id=img_id, category_id=cat,
                             bbox=[x, y, w, h], area=w * h, iscrowd=0,
                             segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]]))
    cats = [dict(c) if frequency else dict(id=c['id'], name=c['name']) for c in CATS]
    path.write_text(json.dumps(dict(images=images, annotations=anns, categories=cats)))
    return str(path)


def sample(img_id, objects, score=0.9):
    boxes = torch.tensor([[x, y, x + w, y + h] for _, (x, y, w, h) in objects], dtype=torch.float)
    masks = torch.zeros(len(objects), H, W, dtype=torch.bool)
    for i, (x, y, x2, y2) in enumerate(boxes.long().tolist()):
        masks[i, y:y2, x:x2] = True
    pred = dict(bboxes=boxes, scores=torch.full((len(objects), ), score),
                labels=torch.tensor([c - 1 for c, _ in objects]), masks=masks)
    return dict(img_id=img_id, ori_shape=(H, W), pred_instances=pred)


def evaluate(metric, drop=()):
    metric.dataset_meta = dict(classes=[c['name'] for c in CATS])
    samples = [sample(i, [o for k, o in enumerate(objs) if (i, k) not in drop])
               for i, objs in GT.items()]
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def test_perfect_detections_give_ap_one_for_every_frequency_group(tmp_path):
    metric = FGCLIP2LVISMetric(ann_file=write_gt(tmp_path / 'gt.json'), metric=['bbox', 'segm'])
    results = evaluate(metric)
    for iou_type in ('bbox', 'segm'):
        for key in ('AP', 'AP50', 'APr', 'APc', 'APf'):
            assert results[f'lvis/{iou_type}_{key}'] == pytest.approx(1.0), (iou_type, key)


def test_one_missed_rare_box_gives_the_hand_computed_values(tmp_path):
    # Rare class: 2 ground-truth boxes, 1 found -> precision 1 up to recall 0.5, i.e. 51 of the
    # 101 recall thresholds: AP_r = 51 / 101. The other groups stay 1; AP is the class mean.
    metric = FGCLIP2LVISMetric(ann_file=write_gt(tmp_path / 'gt.json'), metric='bbox')
    results = evaluate(metric, drop={(2, 0)})
    ap_r = 51 / 101
    assert results['lvis/bbox_APr'] == pytest.approx(round(ap_r, 3))
    assert results['lvis/bbox_APc'] == pytest.approx(1.0)
    assert results['lvis/bbox_APf'] == pytest.approx(1.0)
    assert results['lvis/bbox_AP'] == pytest.approx(round((ap_r + 2) / 3, 3))


def test_accumulate_matches_the_lvis_package(tmp_path, monkeypatch):
    """Same precision / recall as lvis' own accumulate (run with a test-only np.float)."""
    from lvis import LVIS, LVISEval, LVISResults
    gt = LVIS(write_gt(tmp_path / 'gt.json'))
    rng = np.random.default_rng(0)
    dets = []
    for img_id, objects in GT.items():
        for cat, (x, y, w, h) in objects:
            for _ in range(3):  # jittered duplicates: TP, FP and misses at several IoUs
                jx, jy = rng.uniform(-8, 8, 2)
                dets.append(dict(image_id=img_id, category_id=cat, score=float(rng.random()),
                                 bbox=[x + jx, y + jy, w, h]))
    ours = FGCLIP2LVISEval(gt, LVISResults(gt, [dict(d) for d in dets]), 'bbox')
    ours.run()
    monkeypatch.setattr(np, 'float', float, raising=False)
    theirs = LVISEval(gt, LVISResults(gt, [dict(d) for d in dets]), 'bbox')
    theirs.run()
    np.testing.assert_allclose(ours.eval['precision'], theirs.eval['precision'])
    np.testing.assert_allclose(ours.eval['recall'], theirs.eval['recall'])
    assert ours.results == theirs.results
    assert 0 < ours.results['AP'] < 1


def test_stock_metric_fails_under_numpy2_and_ours_does_not_leak_a_patch(tmp_path):
    if hasattr(np, 'float'):
        pytest.skip('this numpy still has np.float')
    ann_file = write_gt(tmp_path / 'gt.json')
    with pytest.raises(AttributeError, match='float'):
        evaluate(LVISMetric(ann_file=ann_file, metric='bbox'))
    evaluate(FGCLIP2LVISMetric(ann_file=ann_file, metric='bbox'))
    from mmdet.evaluation.metrics import lvis_metric
    assert lvis_metric.LVISEval is not FGCLIP2LVISEval and not hasattr(np, 'float')


def test_coco_style_files_need_the_exhaustive_flag(tmp_path):
    ann_file = write_gt(tmp_path / 'coco_style.json', lvis_fields=False)
    with pytest.raises(ValueError, match='neg_category_ids'):
        FGCLIP2LVISMetric(ann_file=ann_file, metric='bbox')
    metric = FGCLIP2LVISMetric(ann_file=ann_file, metric='bbox', exhaustive_annotations=True)
    assert evaluate(metric)['lvis/bbox_AP'] == pytest.approx(1.0)
    with pytest.raises(ValueError, match='frequency'):
        FGCLIP2LVISMetric(ann_file=write_gt(tmp_path / 'nofreq.json', frequency=False))
    with pytest.raises(ValueError, match='needs ann_file'):
        FGCLIP2LVISMetric(metric='bbox')
