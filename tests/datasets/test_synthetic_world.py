"""Tests of the synthetic bilingual world generator (small worlds, CPU, a few seconds)."""
import hashlib
import json
import os
import os.path as osp
import re
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from fgclip2_mm.synthetic_world import (BASE_CLASSES, CATEGORY_NAMES, NOVEL_CLASSES,
                                           SEGMENTATION_METAINFO, changed_attributes,
                                           generate_world, parse_short_expression)
from fgclip2_mm.synthetic_world.scene import sample_image_size, sample_scene
from fgclip2_mm.testing import load_script
from fgclip2_mm.synthetic_world.shapes import draw_shape_mask

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLI = osp.join(REPO, 'tools', 'generate_synthetic_world.py')
SMALL = dict(num_train=24, num_val=16)
CJK = re.compile(r'[\u4e00-\u9fff]')
LATIN = re.compile(r'[A-Za-z]')


def _load(world, name):
    with open(osp.join(world['out_dir'], 'annotations', name), encoding='utf-8') as f:
        return [json.loads(line) for line in f] if name.endswith('.jsonl') else json.load(f)


def _digests(root, skip_images=False):
    """sha256 of every file under ``root`` keyed by relative path."""
    out = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = osp.join(folder, name)
            if skip_images and name.endswith(('.jpg', '.png')):
                continue
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    return generate_world(str(tmp_path_factory.mktemp('world') / 'w'), seed=0, workers=2,
                          **SMALL)


def test_same_seed_is_byte_identical_and_other_seed_differs(world, tmp_path):
    serial = generate_world(str(tmp_path / 'serial'), seed=0, workers=1, **SMALL)
    assert _digests(world['out_dir']) == _digests(serial['out_dir'])
    other = generate_world(str(tmp_path / 'other'), seed=1, workers=2, **SMALL)
    base_digests = _digests(world['out_dir'], skip_images=True)
    other_digests = _digests(other['out_dir'], skip_images=True)
    assert base_digests.keys() == other_digests.keys()
    for name in ('annotations/finehard_en_train.json', 'annotations/instances_val.json'):
        assert base_digests[name] != other_digests[name]


def test_scenes_keep_objects_visible_and_nest_inside_containers():
    nested, sizes = 0, []
    for index in range(80):
        rng = np.random.default_rng([7, 0, 0, index])
        width, height = sample_image_size(rng)
        sizes.append((width, height))
        scene = sample_scene(rng, width, height, 'beige', 'plain')
        visible = np.bincount(scene.owner.ravel() + 1, minlength=len(scene.objects) + 1)[1:]
        for k, obj in enumerate(scene.objects):
            assert visible[k] >= 0.6 * obj.mask.sum() > 0
            if obj.container >= 0:
                nested += 1
                host = scene.objects[obj.container]
                region = draw_shape_mask(host.attrs.shape, host.w, host.h, host.mirrored,
                                         filled=True)
                ys, xs = np.nonzero(obj.mask)
                assert region[ys + obj.y - host.y, xs + obj.x - host.x].all()
    assert nested > 0
    assert min(min(s) for s in sizes) <= 64 and max(max(s) / min(s) for s in sizes) >= 4


@pytest.mark.parametrize('split', ['train', 'val'])
def test_finehard_records_and_parallel_negatives(world, split):
    records_en = _load(world, f'finehard_en_{split}.json')
    records_zh = _load(world, f'finehard_zh_{split}.json')
    assert records_en == _load(world, f'finehard_en_{split}.jsonl')
    assert len(records_en) == len(records_zh) == SMALL[f'num_{split}']
    for en, zh in zip(records_en, records_zh):
        assert set(en) == {'f_path', 'caption', 'short_caption', 'bbox_info'}
        assert zh['is_cn'] is True and zh['f_path'] == en['f_path']
        assert osp.isfile(osp.join(world['out_dir'], en['f_path']))
        assert not en['short_caption'].lower().startswith('a photo of')
        assert len(en['bbox_info']) >= 1
        for box_en, box_zh in zip(en['bbox_info'], zh['bbox_info']):
            x1, y1, x2, y2, score = box_en['bbox']
            assert 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1 and score == 1.0
            assert box_en['bbox'] == box_zh['bbox'] and box_en['flag_short_neg'] == 1
            positive = parse_short_expression(box_en['short_expr'], 'en')
            assert parse_short_expression(box_zh['short_expr'], 'zh') == positive
            negs_en, negs_zh = box_en['short_expr_negs'], box_zh['short_expr_negs']
            assert list(negs_en) == list(negs_zh) == [str(i) for i in range(10)]
            assert len(set(negs_en.values()) | {box_en['short_expr']}) == 11
            changes = []
            for key in negs_en:
                negative = parse_short_expression(negs_en[key], 'en')
                assert parse_short_expression(negs_zh[key], 'zh') == negative
                changed = changed_attributes(positive, negative)
                assert len(changed) == 1
                changes.append(changed[0])
            # 7 attribute changes, then 3 shape swaps (the noun, everything else kept)
            assert set(changes[:7]) <= {'colour', 'pattern', 'size'}
            assert changes[7:] == ['shape'] * 3


@pytest.mark.parametrize('level,num_changed', [('hard', 1), ('medium', 2), ('easy', 3),
                                               ('trivial', None)])
def test_fgovd_levels(world, level, num_changed):
    coco = _load(world, 'instances_val.json')
    lines_en = _load(world, f'fgovd_{level}_en_val.jsonl')
    lines_zh = _load(world, f'fgovd_{level}_zh_val.jsonl')
    assert len(lines_en) == len(lines_zh) == len(coco['annotations'])
    for en, zh, ann in zip(lines_en, lines_zh, coco['annotations']):
        assert en['bbox'] == zh['bbox'] == ann['bbox']
        positive = parse_short_expression(en['pos_expression'][0], 'en')
        assert len(set(en['neg_expression'])) == len(set(zh['neg_expression'])) == 10
        for text_en, text_zh in zip(en['neg_expression'], zh['neg_expression']):
            negative = parse_short_expression(text_en, 'en')
            assert parse_short_expression(text_zh, 'zh') == negative
            if num_changed is None:
                assert negative.shape != positive.shape
            else:
                changed = changed_attributes(positive, negative)
                assert len(changed) == num_changed and 'shape' not in changed


def test_coco_files_masks_and_open_vocabulary_subsets(world):
    coco_api = pytest.importorskip('pycocotools.coco')
    mask_utils = pytest.importorskip('pycocotools.mask')
    root = world['out_dir']
    full = coco_api.COCO(osp.join(root, 'annotations', 'instances_train.json'))
    assert [c['name'] for c in full.loadCats(full.getCatIds())] == list(CATEGORY_NAMES)
    for cat in full.dataset['categories']:
        assert cat['frequency'] in ('r', 'c', 'f') and cat['split'] in ('base', 'novel')
    assert full.dataset['novel_classes'] == list(NOVEL_CLASSES)
    for image_id in full.getImgIds():
        anns = full.loadAnns(full.getAnnIds(imgIds=image_id))
        assert anns, 'every image has at least one object'
        for ann in anns:
            mask = full.annToMask(ann)
            assert mask.sum() == ann['area'] > 0
            rle = mask_utils.encode(np.asfortranarray(mask))
            assert list(mask_utils.toBbox(rle)) == ann['bbox']
    names = {c['id']: c['name'] for c in full.dataset['categories']}
    for name, allowed in (('instances_train_base.json', BASE_CLASSES),
                          ('instances_val_base.json', BASE_CLASSES),
                          ('instances_val_novel.json', NOVEL_CLASSES)):
        subset = _load(world, name)
        assert subset['categories'] == _load(world, 'instances_train.json')['categories']
        assert all(names[a['category_id']] in allowed for a in subset['annotations'])
    assert len(_load(world, 'instances_val_base.json')['annotations']) + len(
        _load(world, 'instances_val_novel.json')['annotations']) == len(
            _load(world, 'instances_val.json')['annotations'])


def test_seg_maps_agree_with_instance_masks(world):
    mask_utils = pytest.importorskip('pycocotools.mask')
    coco = _load(world, 'instances_val.json')
    for image in coco['images']:
        seg = np.asarray(Image.open(osp.join(world['out_dir'], image['seg_map'])))
        with Image.open(osp.join(world['out_dir'], image['file_name'])) as jpeg:
            assert jpeg.size == (image['width'], image['height']) and jpeg.mode == 'RGB'
        expected = np.zeros_like(seg)
        for ann in coco['annotations']:
            if ann['image_id'] == image['id']:
                mask = mask_utils.decode(ann['segmentation']).astype(bool)
                assert not expected[mask].any(), 'visible masks do not overlap'
                expected[mask] = ann['category_id']
        assert seg.dtype == np.uint8 and np.array_equal(seg, expected)


def test_languages_are_clean(world):
    for split in ('train', 'val'):
        for en in _load(world, f'finehard_en_{split}.json'):
            texts = [en['caption'], en['short_caption']]
            for box in en['bbox_info']:
                texts += [box['short_expr'], box['long_expr'], *box['short_expr_negs'].values()]
            assert not any(CJK.search(t) for t in texts)
        for zh in _load(world, f'cn_pairs_{split}.json') + _load(world,
                                                                 f'finehard_zh_{split}.json'):
            texts = [zh['caption'], zh['short_caption']]
            for box in zh.get('bbox_info', []):
                texts += [box['short_expr'], box['long_expr'], *box['short_expr_negs'].values()]
            assert all(CJK.search(t) and not LATIN.search(t) for t in texts)


def test_retrieval_and_classification_lists(world):
    root = world['out_dir']
    for kind in ('short', 'long'):
        for lang in ('en', 'zh'):
            items = _load(world, f'retrieval_{kind}_{lang}_val.json')
            assert len(items) == SMALL['num_val']
            for item in items:
                assert osp.isfile(osp.join(root, item['image']))
                assert len(item['captions']) == (3 if kind == 'short' else 1)
                assert len(set(item['captions'])) == len(item['captions'])
    with open(osp.join(root, 'annotations', 'cls_val.txt'), encoding='utf-8') as f:
        lines = [line.split(' ') for line in f.read().splitlines()]
    labels = Counter(int(label) for _, label in lines)
    assert set(labels) == set(range(len(CATEGORY_NAMES)))
    assert max(labels.values()) - min(labels.values()) <= 1
    assert all(osp.isfile(osp.join(root, path)) for path, _ in lines)


def test_world_meta(world):
    with open(world['meta_file'], encoding='utf-8') as f:
        meta = json.load(f)
    assert meta['seed'] == 0 and meta['num_train'] == 24 and meta['num_val'] == 16
    assert len(meta['categories']) == 16 and len(meta['novel_classes']) == 4
    assert meta['base_classes'] == list(BASE_CLASSES)
    assert 'elapsed' not in json.dumps(meta)
    for rel in meta['files']['annotations'] + meta['files']['tokenizer']:
        assert osp.isfile(osp.join(world['out_dir'], rel))
    assert sorted(world['files']) == world['files'] and all(map(osp.isfile, world['files']))


def test_tokenizer_is_gemma_layout_and_round_trips(world):
    transformers = pytest.importorskip('transformers')
    tok = transformers.AutoTokenizer.from_pretrained(world['tokenizer_dir'])
    assert (tok.pad_token_id, tok.eos_token_id, tok.bos_token_id, tok.unk_token_id) == (0, 1, 2,
                                                                                       3)
    assert tok.padding_side == 'right' and tok.convert_ids_to_tokens(5) == '<0x00>'
    assert len(tok) == 1024
    for text in ('a large red striped star to the left of the small blue circle',
                 '一颗红色条纹的大五角星', '带圆点的蓝色小圆形在黄色大圆环里面。'):
        ids = tok(text)['input_ids']
        assert ids[0] == tok.bos_token_id and ids[-1] != tok.eos_token_id
        assert tok.decode(ids, skip_special_tokens=True) == text
    unseen = 'zebra ✓ 猫'
    ids = tok(unseen)['input_ids']
    assert tok.unk_token_id not in ids and tok.decode(ids, skip_special_tokens=True) == unseen
    batch = tok(['a star', 'a large red star'], padding='max_length', max_length=12)
    assert batch['input_ids'][0][-1] == tok.pad_token_id and batch['attention_mask'][0][0] == 1


def test_mmdet_and_mmseg_load_the_world(world):
    mmdet_datasets = pytest.importorskip('mmdet.datasets')
    root = world['out_dir']
    det = mmdet_datasets.CocoDataset(
        data_root=root, ann_file='annotations/instances_val.json', data_prefix=dict(img=''),
        metainfo=dict(classes=CATEGORY_NAMES), pipeline=[], test_mode=True)
    assert len(det) == SMALL['num_val'] and osp.isfile(det[0]['img_path'])
    assert all(0 <= i['bbox_label'] < 16 for i in det[0]['instances'])
    pytest.importorskip('mmseg')
    from mmcv.transforms import LoadImageFromFile
    from mmseg.datasets import BaseSegDataset
    from mmseg.datasets.transforms import LoadAnnotations
    seg = BaseSegDataset(
        data_root=root, data_prefix=dict(img_path='images/val', seg_map_path='seg_maps/val'),
        img_suffix='.jpg', seg_map_suffix='.png',
        metainfo={k: SEGMENTATION_METAINFO[k] for k in ('classes', 'palette')},
        pipeline=[dict(type=LoadImageFromFile), dict(type=LoadAnnotations)])
    sample = seg[0]
    assert len(seg) == SMALL['num_val'] and sample['gt_seg_map'].shape == sample['img'].shape[:2]
    assert sample['gt_seg_map'].max() <= 16


@pytest.mark.parametrize('kwargs,match', [
    (dict(num_train=-3), 'num_train must be >= 0'),
    (dict(num_val=2.5), 'num_val must be an integer'),
    (dict(seed=True), 'seed must be an integer'),
    (dict(workers=0), 'workers must be >= 1'),
    (dict(num_train=0, num_val=0), 'must be >= 1'),
])
def test_invalid_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate_world(str(tmp_path / 'w'), **{**dict(num_train=1, num_val=1), **kwargs})


def test_out_dir_checks_and_overwrite(tmp_path):
    (tmp_path / 'file').write_text('x')
    with pytest.raises(ValueError, match='not a directory'):
        generate_world(str(tmp_path / 'file'), num_train=1, num_val=1)
    out = tmp_path / 'w'
    generate_world(str(out), num_train=3, num_val=1, workers=1)
    with pytest.raises(ValueError, match='not empty'):
        generate_world(str(out), num_train=1, num_val=1)
    (out / 'notes.txt').write_text('kept')
    summary = generate_world(str(out), num_train=1, num_val=1, workers=1, overwrite=True)
    assert not (out / 'images' / 'train' / '000002.jpg').exists()
    assert (out / 'notes.txt').read_text() == 'kept'
    assert summary['num_images']['train'] == 1


def _load_cli():
    return load_script(CLI)


def test_cli_bad_argument_in_a_real_process():
    result = subprocess.run([sys.executable, CLI, '--num-train', '-3'], capture_output=True,
                            text=True, cwd=REPO, timeout=120)
    assert result.returncode == 2 and result.stdout == ''
    assert result.stderr == ('generate_synthetic_world.py: error: argument --num-train: '
                             'must be >= 0, got -3\n')


def test_cli_help_errors_and_run(tmp_path, capsys):
    cli = _load_cli()
    with pytest.raises(SystemExit) as exit_info:
        cli.main(['--help'])
    assert exit_info.value.code == 0 and '--num-train' in capsys.readouterr().out
    (tmp_path / 'file').write_text('x')
    (tmp_path / 'full').mkdir()
    (tmp_path / 'full' / 'x').write_text('x')
    for bad in (['--num-val', 'abc'], ['--seed', '1.5'], ['--workers', '0'], ['--bogus'],
                ['--num-train', '0', '--num-val', '0'], ['--out', str(tmp_path / 'file')],
                ['--out', str(tmp_path / 'full')]):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(bad)
        stderr = capsys.readouterr().err
        assert exit_info.value.code == 2, bad
        assert len(stderr.splitlines()) == 1 and stderr.startswith(
            'generate_synthetic_world.py: error: '), stderr
    assert cli.main(['--out', str(tmp_path / 'ok'), '--num-train', '2', '--num-val', '1',
                     '--workers', '1']) == 0
    out = capsys.readouterr().out
    assert '(100%)' in out and 'wrote 2+1 images' in out
