"""The quick start's ``ov_det`` section: skipped with a reason without a pretrained encoder,
a config pointed at the world and the checkpoint, and (slow) the whole stage on a tiny world.
"""
import json
import os.path as osp

import pytest

pytest.importorskip('mmdet')

from fgclip2_mm.quickstart import QuickstartConfig, ov_det_stage  # noqa: E402

KEYS = ('base_ap50_en', 'novel_ap50_en', 'novel_ap50_zh', 'novel_ap50_random_text',
        'agnostic_ap50_en')


@pytest.mark.parametrize('pretrain,match', [
    (None, "'missing'"),
    (dict(status='not_built', issue=4), "'not_built'"),
    (dict(status='skipped', reason='no time'), 'no time'),
    (dict(status='ok', checkpoint='/nonexistent', tokenizer='/nonexistent'), 'not found'),
])
def test_skipped_with_the_reason_without_a_pretrained_encoder(pretrain, match, tmp_path):
    logs = []
    summary = {} if pretrain is None else dict(pretrain=pretrain)
    section = ov_det_stage.run(QuickstartConfig(work_dir=str(tmp_path)), summary, logs.append)
    assert section['status'] == 'skipped' and match in section['reason']
    assert any('skipped' in line for line in logs)


def test_config_points_at_the_world_and_the_checkpoint(world, ckpt, tmp_path):
    config = QuickstartConfig(work_dir=str(tmp_path), data_root=world, seed=3)
    cfg = ov_det_stage.build_config(config, ckpt, f'{world}/tokenizer', str(tmp_path / 'w'), 2)
    assert cfg.model.backbone.checkpoint == ckpt
    assert cfg.model.neck.in_channels == [32] * 4  # the tiny checkpoint's width
    text = cfg.model.roi_head.bbox_head.text_embeddings
    assert text.checkpoint == ckpt and text.tokenizer == f'{world}/tokenizer'
    assert cfg.train_dataloader.dataset.ann_file == 'annotations/instances_train_base.json'
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        assert osp.isfile(osp.join(loader.dataset.data_root, loader.dataset.ann_file))
    assert osp.isfile(cfg.test_evaluator.ann_file)
    assert cfg.test_evaluator.outfile_prefix == str(tmp_path / 'w' / 'test_detections')
    assert cfg.train_cfg.max_epochs == 2 and cfg.randomness.seed == 3
    assert [s.end for s in cfg.param_scheduler if s.type == 'CosineAnnealingLR'] == [2]
    assert ov_det_stage.BARS == dict(base_ap50_en=0.5, novel_ap50_en=0.3, novel_ap50_zh=0.25,
                                     random_gap=0.1)


def test_class_agnostic_ap50_ignores_labels_but_not_boxes(world, tmp_path):
    ann_file = osp.join(world, 'annotations', 'instances_val.json')
    coco = json.load(open(ann_file))
    num_classes = len(coco['categories'])
    wrong_label = [dict(image_id=a['image_id'], bbox=a['bbox'], score=1.0,
                        category_id=a['category_id'] % num_classes + 1)
                   for a in coco['annotations']]
    shifted = [dict(d, bbox=[d['bbox'][0] + 2 * d['bbox'][2], *d['bbox'][1:]])
               for d in wrong_label]  # same labels, boxes moved off every object
    for name, dets in (('wrong', wrong_label), ('shifted', shifted), ('none', [])):
        with open(tmp_path / f'{name}.json', 'w') as f:
            json.dump(dets, f)
    assert ov_det_stage.class_agnostic_ap50(ann_file, str(tmp_path / 'wrong.json')) == 1.0
    assert ov_det_stage.class_agnostic_ap50(ann_file, str(tmp_path / 'shifted.json')) < 0.2
    assert ov_det_stage.class_agnostic_ap50(ann_file, str(tmp_path / 'none.json')) == 0.0


def test_class_text_cosine_measures_how_alike_the_class_names_are():
    import torch
    orthogonal = torch.eye(3, 8) * 5  # scale does not matter: cosines
    assert ov_det_stage.class_text_cosine(orthogonal) == dict(mean=0.0, max=0.0)
    near = torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]])
    cos = ov_det_stage.class_text_cosine(near)
    assert cos['max'] == pytest.approx(1 / 1.01**0.5, abs=1e-4)  # rows 0 and 1
    assert cos['mean'] == pytest.approx((cos['max'] + 0 + 0.1 / 1.01**0.5) / 3, abs=1e-4)
    with pytest.raises(ValueError, match='at least 2 classes'):
        ov_det_stage.class_text_cosine(torch.ones(1, 4))


@pytest.mark.slow
def test_the_whole_stage_on_a_tiny_world(world, ckpt, tmp_path):
    """Minutes on 2 CPU cores: trains one epoch and runs every evaluation and picture."""
    config = QuickstartConfig(work_dir=str(tmp_path), data_root=world)
    summary = dict(pretrain=dict(status='ok', checkpoint=ckpt, tokenizer=f'{world}/tokenizer'))
    section = ov_det_stage.run(config, summary, print, epochs=1)
    assert section['status'] == 'ok' and section['iterations'] > 0
    for key in KEYS:
        assert 0 <= section[key] <= 1, key
    assert set(section['meets_bars']) == set(ov_det_stage.BARS)
    for lang in ('en', 'zh'):
        assert osp.getsize(section['pictures'][lang]) > 1000
    assert osp.isfile(section['detector'])
    assert osp.isfile(section['detections_en'])
    cosine = section['class_text_cosine_en']
    assert -1 <= cosine['mean'] <= cosine['max'] <= 1
