"""tools/benchmarks/overfit_control.py: the subset it trains and scores on, its box scores
(class-aware vs agnostic), and both arms of both tasks running end to end on a tiny world."""
import json
import os.path as osp

import pytest

pytest.importorskip('mmdet')
pytest.importorskip('mmseg')

from fgclip2_mm.testing import load_script  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'benchmarks', 'overfit_control.py')


@pytest.fixture(scope='module')
def tool():
    return load_script(TOOL)


def _coco(tmp_path, images, annotations):
    path = str(tmp_path / 'gt.json')
    cats = [dict(id=1, name='circle'), dict(id=2, name='square')]
    with open(path, 'w') as f:
        json.dump(dict(images=images, annotations=annotations, categories=cats, info={}), f)
    return path


def test_subset_keeps_the_first_annotated_images_with_all_their_boxes(tool, tmp_path):
    images = [dict(id=i, file_name=f'{i}.jpg', width=64, height=64) for i in (5, 3, 9, 1)]
    anns = [
        dict(id=1, image_id=3, category_id=1, bbox=[0, 0, 8, 8], area=64, iscrowd=0),
        dict(id=2, image_id=9, category_id=2, bbox=[0, 0, 8, 8], area=64, iscrowd=0),
        dict(id=3, image_id=3, category_id=2, bbox=[8, 8, 8, 8], area=64, iscrowd=0),
        dict(id=4, image_id=1, category_id=1, bbox=[0, 0, 8, 8], area=64, iscrowd=0)
    ]
    src, out = _coco(tmp_path, images, anns), str(tmp_path / 'sub.json')
    assert tool.first_images_subset(src, out, 2) == [3, 9]  # file order; image 5 is empty
    sub = json.load(open(out))
    assert [im['id'] for im in sub['images']] == [3, 9]
    assert sorted(a['id'] for a in sub['annotations']) == [1, 2, 3]
    assert sub['categories'] == json.load(open(src))['categories']
    with pytest.raises(ValueError, match='only 3 annotated images'):
        tool.first_images_subset(src, out, 4)


def test_box_scores_separate_naming_from_localising(tool, tmp_path):
    images = [dict(id=i, file_name=f'{i}.jpg', width=100, height=100) for i in (1, 2)]
    anns = [
        dict(id=1, image_id=1, category_id=1, bbox=[10, 10, 30, 30], area=900, iscrowd=0),
        dict(id=2, image_id=2, category_id=2, bbox=[50, 40, 20, 30], area=600, iscrowd=0)
    ]
    gt = _coco(tmp_path, images, anns)

    def scores(dets):
        path = str(tmp_path / 'dets.json')
        json.dump(dets, open(path, 'w'))
        return tool.coco_box_scores(gt, path)

    right = [
        dict(image_id=a['image_id'], category_id=a['category_id'], bbox=a['bbox'], score=0.9)
        for a in anns
    ]
    assert scores(right) == dict(ap50=1.0, ar100=1.0, agnostic_ap50=1.0)
    swapped = [dict(d, category_id=3 - d['category_id']) for d in right]
    wrong = scores(swapped)
    assert wrong['ap50'] == 0.0 and wrong['agnostic_ap50'] == 1.0
    shifted = [dict(d, bbox=[d['bbox'][0] + 25, d['bbox'][1] + 25, *d['bbox'][2:]]) for d in right]
    assert scores(shifted)['agnostic_ap50'] == 0.0
    assert scores([]) == dict(ap50=0.0, ar100=0.0, agnostic_ap50=0.0)


@pytest.mark.parametrize('task,schedule,arms', [
    ('det', ['--epochs', '1'], ['fgclip2', 'resnet18']),
    ('seg', ['--iters', '2'], ['catseg', 'fpn_r18']),
])
def test_both_arms_train_and_score_on_the_training_images(tool, world, ckpt, tmp_path, task,
                                                          schedule, arms):
    out = str(tmp_path / 'rows.json')
    argv = [task, '--images', '2', *schedule, '--data-root', world, '--checkpoint', ckpt]
    assert tool.main(argv + ['--work-dir', str(tmp_path), '--out', out]) == 0
    rows = json.load(open(out))
    assert [r['arm'] for r in rows] == arms
    if task == 'seg':
        for row in rows:
            assert 0 <= row['miou'] <= 1 and 0 <= row['background_iou'] <= 1
            assert any(key.endswith('loss_ce') for key in row['losses'])
        return
    for row in rows:
        assert 0 <= row['agnostic_ap50'] <= 1 and 0 <= row['ap50'] <= 1
        assert {'loss_rpn_cls', 'loss_cls', 'loss_bbox'} <= set(row['losses'])
    sub = json.load(open(osp.join(str(tmp_path), 'det', 'train_base_first2.json')))
    assert len(sub['images']) == 2  # scored on the training images only
    dets = osp.join(str(tmp_path), 'det', 'resnet18', 'test_detections.bbox.json')
    assert {d['image_id'] for d in json.load(open(dets))} <= {im['id'] for im in sub['images']}


@pytest.mark.parametrize('argv,message', [
    (['det', '--arms', 'catseg'], "unknown det arm 'catseg'"),
    (['seg', '--images', '0'], '--images must be >= 1'),
    (['det', '--checkpoint', '/nonexistent'], '--checkpoint folder not found'),
])
def test_bad_arguments_are_clear_errors(tool, world, ckpt, argv, message, capsys):
    with pytest.raises(SystemExit):
        tool.main(argv + ['--data-root', world] +
                  ([] if '--checkpoint' in argv else ['--checkpoint', ckpt]))
    assert message in capsys.readouterr().err
