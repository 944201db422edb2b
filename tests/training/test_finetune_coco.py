"""Fine-tuning on COCO-format data (README "Fine-tune on your data"): the synthetic world's
COCO files without their attribute fields go through
tools/dataset_converters/coco_to_finehard.py, configs/fgclip2_finetune_coco-format.py trains
a tiny model started from a checkpoint folder in the released layout, and tools/test.py
evaluates the trained checkpoint with box classification."""
import json
import os.path as osp
import re

import pytest
import torch

from fgclip2_mm.testing import load_script, write_tiny_checkpoint

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONVERTER = osp.join(ROOT, 'tools', 'dataset_converters', 'coco_to_finehard.py')
CONFIG = osp.join(ROOT, 'configs', 'fgclip2_finetune_coco-format.py')


def _without_attributes(src, dst):
    data = json.load(open(src, encoding='utf-8'))
    for ann in data['annotations']:
        ann.pop('attributes')
    with open(dst, 'w', encoding='utf-8') as f:
        json.dump(data, f)
    return data


def _convert(*args):
    try:
        return load_script(CONVERTER).main([str(a) for a in args])
    except SystemExit as exc:  # argparse errors
        return exc.code


@pytest.fixture(scope='module')
def converted(small_world, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('coco_ft')
    ann = osp.join(str(small_world), 'annotations')
    train = _without_attributes(osp.join(ann, 'instances_train.json'), tmp / 'train.json')
    _without_attributes(osp.join(ann, 'instances_val.json'), tmp / 'val.json')
    assert _convert(tmp / 'train.json', tmp / 'finehard.jsonl') == 0
    return tmp, train


def test_converted_records_are_what_the_dataset_trains_on(converted, small_world):
    from fgclip2_mm.datasets import FGCLIP2FineHARDDataset
    tmp, train = converted
    records = [json.loads(line) for line in open(tmp / 'finehard.jsonl', encoding='utf-8')]
    assert len(records) == len(train['images'])
    names = {c['name'] for c in train['categories']}
    boxes = [box for r in records for box in r['bbox_info']]
    assert len(boxes) == len(train['annotations'])  # nothing in the world is bad or tiny
    for box in boxes:  # no attributes: templates over the category name alone
        assert box['short_expr'].split(' ', 1)[1] in names
        assert box['flag_short_neg'] is True and len(box['short_expr_negs']) == 10
        negs = [n.split(' ', 1)[1] for n in box['short_expr_negs'].values()]
        assert set(negs) <= names and box['short_expr'].split(' ', 1)[1] not in negs
        assert len(set(negs)) == 10
    # The composed global caption names the largest boxes.
    assert all(r['short_caption'].startswith(r['bbox_info'][0]['short_expr']) for r in records)
    dataset = FGCLIP2FineHARDDataset(ann_file=str(tmp / 'finehard.jsonl'),
                                     data_root=str(small_world),
                                     on_bad_record='raise', cache_index=False)
    assert len(dataset) == len(records)
    assert sum(len(dataset.get_data_info(i)['regions']) for i in range(len(dataset))) == \
        len(boxes)


def _finetune_cfg(tmp, world, released, max_iters):
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    for transform in cfg.train_dataloader.dataset.pipeline:
        if transform.type == 'FGCLIP2Tokenize':
            transform.tokenizer.folder = released
        if transform.type == 'FGCLIP2NaFlexPatchify':  # CPU-sized images
            transform.update(max_num_patches=64, dynamic_budget=False)
    loader = dict(batch_size=4, num_workers=0, persistent_workers=False)
    cfg.merge_from_dict({
        'model.init_cfg.checkpoint': released,
        'model.arch': 'tiny',
        'model.vision_backbone.arch': 'tiny',
        'model.text_encoder.arch': 'tiny',
        'model.vision_backbone.with_cp': False,
        'model.text_encoder.with_cp': False,
        'train_dataloader': dict(loader, batch_sampler=dict(bucket_by_budget=False),
                                 dataset=dict(data_root=str(world),
                                              ann_file=str(tmp / 'finehard.jsonl'),
                                              data_prefix=dict(img_path=''))),
        'val_dataloader': dict(loader, dataset=dict(data_root=str(world),
                                                    ann_file=str(tmp / 'val.json'),
                                                    data_prefix=dict(img_path=''))),
        'test_dataloader': dict(loader, dataset=dict(data_root=str(world),
                                                     ann_file=str(tmp / 'val.json'),
                                                     data_prefix=dict(img_path=''))),
        'val_cfg.tokenizer': released,
        'test_cfg.tokenizer': released,
        'train_cfg.max_iters': max_iters,
        'train_cfg.val_interval': max_iters,
        'default_hooks.checkpoint.interval': max_iters,
        'default_hooks.logger.interval': 1,
        'param_scheduler': [dict(type='CosineAnnealingLR', by_epoch=False, begin=0,
                                 end=max_iters, T_max=max_iters)],
        'env_cfg.dist_cfg.backend': 'gloo',
        'work_dir': str(tmp / 'work'),
    })
    # fp32 on CPU; the recipe's optimizer (AdamW, lr 1e-6) is kept.
    cfg.optim_wrapper = dict(type='OptimWrapper', optimizer=cfg.optim_wrapper.optimizer,
                             constructor=cfg.optim_wrapper.constructor)
    return cfg


def _metric(log: str, key: str) -> float:
    return float(re.findall(rf'{re.escape(key)}: ([0-9.]+)', log)[-1])


def test_convert_train_evaluate(converted, small_world, tmp_path):
    from mmengine.runner import Runner
    from fgclip2_mm.apis import convert_mm_folder, load_fgclip2
    tmp, _ = converted
    ours = write_tiny_checkpoint(str(tmp_path / 'ours'), osp.join(str(small_world), 'tokenizer'))
    released = str(tmp_path / 'released')  # the official layout, as downloaded
    convert_mm_folder(ours, released)
    cfg = _finetune_cfg(tmp, small_world, released, max_iters=3)
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    model = runner.train()
    start = load_fgclip2(released).state_dict()
    trained = model.state_dict()
    moved = max((trained[k] - start[k]).abs().max().item() for k in start)
    assert 0 < moved < 1e-3  # started from the folder, then a few lr 1e-6 steps
    val_top1 = runner.message_hub.get_scalar('val/box_cls/top1').current()
    ckpt = tmp_path / 'work' / 'iter_3.pth'
    assert ckpt.is_file()
    # Third command: tools/test.py CONFIG CHECKPOINT on the trained checkpoint.
    cfg_path = tmp_path / 'finetune.py'
    cfg.dump(str(cfg_path))
    test_script = load_script(osp.join(ROOT, 'tools', 'test.py'))
    test_script.main([str(cfg_path), str(ckpt), '--work-dir', str(tmp_path / 'test')])
    logs = sorted((tmp_path / 'test').glob('*/*.log'))
    log = logs[-1].read_text()
    val = json.load(open(tmp / 'val.json'))
    assert _metric(log, 'box_cls/num_boxes') == len(val['annotations'])
    assert _metric(log, 'box_cls/num_failed_boxes') == 0
    top1 = _metric(log, 'box_cls/top1')
    assert 0 <= top1 <= 1
    assert top1 == pytest.approx(val_top1, abs=1e-4)  # same weights, same protocol
    assert torch.isfinite(torch.tensor(top1))


def test_converter_skips_and_counts_bad_boxes(tmp_path, capsys):
    data = dict(
        images=[dict(id=1, file_name='a.jpg', width=100, height=80),
                dict(id=2, file_name='b.jpg', width=100, height=80),
                dict(id=3, file_name='c.jpg')],
        categories=[dict(id=i, name=n) for i, n in enumerate(['cat', 'dog', 'traffic_light'])],
        annotations=[
            dict(id=1, image_id=1, category_id=0, bbox=[10, 10, 50, 40],
                 attributes=['black', 'fluffy']),
            dict(id=2, image_id=1, category_id=1, bbox=[0, 0, 2, 30]),  # tiny
            dict(id=3, image_id=1, category_id=1, bbox=[60, 10, -5, 10]),  # negative width
            dict(id=4, image_id=1, category_id=1, bbox=[90, 10, 40, 10]),  # leaves the image
            dict(id=5, image_id=1, category_id=1, bbox=[10, 'x', 4, 4]),  # malformed
            dict(id=6, image_id=1, category_id=9, bbox=[10, 10, 20, 20]),  # unknown category
            dict(id=7, image_id=9, category_id=1, bbox=[10, 10, 20, 20]),  # unknown image
            dict(id=8, image_id=1, category_id=2, bbox=[-0.5, 10, 30, 70.6], iscrowd=1),
            dict(id=9, image_id=1, category_id=2, bbox=[-0.5, 10, 30, 70.6],  # clipped
                 attributes=['yellow']),
            dict(id=10, image_id=2, category_id=1, bbox=[1, 1, 2, 2]),  # image 2: tiny only
        ])
    (tmp_path / 'in.json').write_text(json.dumps(data))
    assert _convert(tmp_path / 'in.json', tmp_path / 'out.json') == 0
    out, err = capsys.readouterr()
    for reason in ('box_tiny=2', 'box_non_positive=1', 'box_outside_image=1',
                   'box_malformed=1', 'unknown_category=1', 'unknown_image=1', 'box_crowd=1',
                   'image_bad_size=1', 'image_without_text=1'):
        assert reason in out
    assert 'annotations[1] (id 2)' in err  # the first case of each reason is named
    (record, ) = json.load(open(tmp_path / 'out.json'))
    light, cat = record['bbox_info']  # largest first
    assert light['short_expr'] == 'a yellow traffic light'
    assert light['bbox'] == [0.0, 0.125, 0.295, 1.0]  # clipped to the image
    assert cat['short_expr'] == 'a black fluffy cat'
    assert cat['long_expr'] == 'a black fluffy cat in the centre of the image'
    # Two other names and two attribute swaps (yellow for black or fluffy) are not 10
    # negatives: the box is kept without them.
    assert cat['flag_short_neg'] is False and 'short_expr_negs' not in cat
    assert record['short_caption'] == 'a yellow traffic light and a black fluffy cat'
    assert _convert(tmp_path / 'in.json', tmp_path / 'o.json', '--num-negatives', '3') == 0
    (record, ) = json.load(open(tmp_path / 'o.json'))
    negs = list(record['bbox_info'][1]['short_expr_negs'].values())
    assert len(negs) == 3 and {'a yellow fluffy cat', 'a black yellow cat'} < set(negs)


def test_captions_file_gives_the_global_captions(tmp_path):
    data = dict(images=[dict(id=1, file_name='a.jpg', width=10, height=10)],
                categories=[dict(id=0, name='cat')], annotations=[])
    caps = dict(annotations=[dict(image_id=1, caption='A cat  sleeps'),
                             dict(image_id=1, caption='A grey cat on a sofa.')])
    (tmp_path / 'in.json').write_text(json.dumps(data))
    (tmp_path / 'caps.json').write_text(json.dumps(caps))
    assert _convert(tmp_path / 'in.json', tmp_path / 'o.json', '--captions',
                    tmp_path / 'caps.json') == 0
    (record, ) = json.load(open(tmp_path / 'o.json'))
    assert record['short_caption'] == 'A cat sleeps'
    assert record['caption'] == 'A cat sleeps. A grey cat on a sofa.'
    assert record['bbox_info'] == []


@pytest.mark.parametrize('args, message', [
    (['missing.json', 'o.json'], 'instances file not found'),
    (['bad.json', 'o.json'], 'not a valid JSON file'),
    (['nocat.json', 'o.json'], 'needs a "categories" list'),
    (['nocat.json', 'o.txt'], 'OUT must end with'),
    (['nocat.json', 'nocat.json'], 'is an input file'),
])
def test_converter_errors_are_one_line(tmp_path, capsys, args, message):
    (tmp_path / 'bad.json').write_text('{"images": [')
    (tmp_path / 'nocat.json').write_text(json.dumps(dict(images=[], annotations=[])))
    assert _convert(*[tmp_path / a for a in args]) == 2
    err = capsys.readouterr().err
    assert message in err and 'Traceback' not in err and len(err.strip().splitlines()) == 1

