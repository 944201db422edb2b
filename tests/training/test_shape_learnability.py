"""tools/benchmarks/shape_learnability.py: labels come from the world's COCO attributes, and
both arms train and report accuracies on a tiny world."""
import json
import os.path as osp

import pytest

from fgclip2_mm.synthetic_world.vocabulary import CATEGORY_NAMES, COLOUR_NAMES
from fgclip2_mm.testing import load_script, synthetic_world

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'benchmarks', 'shape_learnability.py')


@pytest.fixture(scope='module')
def tool():
    return load_script(TOOL)


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    return synthetic_world(str(tmp_path_factory.mktemp('world')), num_train=6, num_val=4)


def test_objects_match_the_coco_annotations(tool, world):
    objects = tool.load_objects(world, 'val')
    coco = json.load(open(osp.join(world, 'annotations', 'instances_val.json')))
    assert sum(len(v) for v in objects.values()) == len(coco['annotations'])
    ann = coco['annotations'][0]
    image = next(im for im in coco['images'] if im['id'] == ann['image_id'])
    box, shape, colour, size = objects[osp.join(world, image['file_name'])][0]
    x, y, w, h = ann['bbox']
    assert box == pytest.approx((x / image['width'], y / image['height'],
                                 (x + w) / image['width'], (y + h) / image['height']))
    assert CATEGORY_NAMES[shape] == ann['attributes']['shape']
    assert COLOUR_NAMES[colour] == ann['attributes']['colour']
    assert size == ann['attributes']['size']
    assert all(0 <= v <= 1 for objs in objects.values() for o in objs for v in o[0])


def test_both_arms_train_and_report(tool, world, tmp_path, capsys):
    out = str(tmp_path / 'rows.json')
    assert tool.main(['--data-root', world, '--steps', '2', '--eval-every', '1',
                      '--batch-images', '3', '--out', out]) == 0
    rows = json.load(open(out))
    assert [(r['arm'], r['step']) for r in rows] == [('region_vit', 1), ('region_vit', 2),
                                                     ('cnn_crop', 1), ('cnn_crop', 2)]
    for row in rows:
        assert 0 <= row['joint'] <= min(row['shape'], row['colour']) <= 1
    assert 'majority-shape val top-1' in capsys.readouterr().out


def test_missing_world_is_a_clear_error(tool, tmp_path, capsys):
    with pytest.raises(SystemExit):
        tool.main(['--data-root', str(tmp_path)])
    assert 'no synthetic world in' in capsys.readouterr().err
