"""The project configs: every one parses; the synthetic twins build and run one train
iteration and one test batch on a generated world; OVCocoMetric on synthetic data."""
import glob
import os.path as osp

import pytest
import torch

pytest.importorskip('mmdet')

from mmengine.config import Config  # noqa: E402

import fgclip2_mm  # noqa: E402,F401  (mmdet:: bases resolve without pkg_resources)
from fgclip2_mm.utils import package_compat  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(ROOT, 'projects', 'fgclip2_ovdet', 'configs')
CONFIGS = sorted(p for p in glob.glob(osp.join(CONFIG_DIR, '**', '*.py'), recursive=True)
                 if '_base_' not in p)
SYNTHETIC = osp.join(CONFIG_DIR, 'synthetic', 'fvit_fgclip2-tiny_simplefpn_synthetic-ov.py')
SYNTHETIC_LVIS = osp.join(CONFIG_DIR, 'synthetic',
                          'fvit_fgclip2-tiny_simplefpn_mask_synthetic-lvis.py')


def test_there_are_configs_for_every_family():
    names = [osp.relpath(p, CONFIG_DIR) for p in CONFIGS]
    for family in ('ov_coco/', 'ov_lvis/', 'synthetic/'):
        assert any(n.startswith(family) for n in names), family
    for size in ('b16', 'l16', 'so400m16'):
        assert sum(size in n for n in names) >= 2, size  # OV-COCO and OV-LVIS
    assert sum(n.endswith('_zh.py') for n in names) >= 3
    assert sum(n.endswith('_en-zh.py') for n in names) >= 2


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.relpath(p, CONFIG_DIR) for p in CONFIGS])
def test_config_parses(path):
    cfg = Config.fromfile(path)
    assert 'fgclip2_mm.integrations.mmdet' in cfg.custom_imports['imports']
    assert cfg.model.type == 'fgclip2_mm.FGCLIP2OVDetector'
    assert cfg.model.backbone.type == 'fgclip2_mm.FGCLIP2DetBackbone'
    head = cfg.model.roi_head.bbox_head
    assert head.type == 'fgclip2_mm.FGCLIP2OVBBoxHead'
    assert head.text_embeddings.checkpoint == cfg.model.backbone.checkpoint
    language = 'zh' if path.endswith('_zh.py') else 'en+zh' if path.endswith('_en-zh.py') else 'en'
    assert head.language == language
    assert any(h.type == 'fgclip2_mm.FGCLIP2VocabularyHook' for h in cfg.custom_hooks)
    if 'ov_lvis' in path or 'lvis' in osp.basename(path):
        assert cfg.model.roi_head.mask_head.class_agnostic
        assert cfg.test_evaluator.type == 'fgclip2_mm.FGCLIP2LVISMetric'
        assert set(cfg.test_evaluator.metric) == {'bbox', 'segm'}
    else:
        assert cfg.test_evaluator.type == 'OVCocoMetric'
        if 'synthetic' in path:  # classes from the world's annotation files (any profile)
            for loader in (cfg.train_dataloader, cfg.test_dataloader):
                assert loader.dataset.type == 'fgclip2_mm.FGCLIP2SyntheticDetDataset'
                assert loader.dataset.get('metainfo') is None
            return
        meta = cfg.test_dataloader.dataset.metainfo
        assert set(meta.base_classes) | set(meta.novel_classes) == set(meta.classes)
        assert len(meta.classes_zh) == len(meta.classes)
        if 'ov_coco' in path:
            assert (len(meta.base_classes), len(meta.novel_classes)) == (48, 17)
    # val is the test split: no OV config may select a checkpoint on it (issue 13, item 7)
    assert cfg.default_hooks.checkpoint.get('save_best') is None


# F-ViT's settings (wusize/CLIPSelf@1c7fe9c F-ViT/configs/ov_coco/
# fvit_vitb16_upsample_fpn_bs64_3e_ovcoco_eva_original.py and .../ov_lvis/
# fvit_vitb16_upsample_fpn_bs64_4x_ovlvis_eva_original.py, lines in the project README table)
FVIT = {
    'ov_coco': dict(score_thr=0.01, nms_iou=0.4, max_per_img=100, vlm_temperature=75.0,
                    beta=0.8, bg_weight=0.6, rpn_type='RPNHead', low_quality=False,
                    warmup=250),
    'ov_lvis': dict(score_thr=0.0001, nms_iou=0.5, max_per_img=300, vlm_temperature=50.0,
                    beta=0.6, bg_weight=0.9, rpn_type='fgclip2_mm.FGCLIP2RPNHead',
                    low_quality=True, warmup=250),
}
REAL = [p for p in CONFIGS if '/synthetic/' not in p]


@pytest.mark.parametrize('path', REAL, ids=[osp.relpath(p, CONFIG_DIR) for p in REAL])
def test_real_data_configs_use_the_fvit_settings(path):
    cfg = Config.fromfile(path)
    want = FVIT['ov_coco' if '/ov_coco/' in path else 'ov_lvis']
    model, head = cfg.model, cfg.model.roi_head.bbox_head
    assert model.test_cfg.rcnn.score_thr == want['score_thr']
    assert model.test_cfg.rcnn.nms.iou_threshold == want['nms_iou']
    assert model.test_cfg.rcnn.max_per_img == want['max_per_img']
    assert (model.test_cfg.rpn.nms_pre, model.test_cfg.rpn.max_per_img) == (2000, 1000)
    assert model.rpn_head.type == want['rpn_type'] and model.rpn_head.num_convs == 2
    assert model.train_cfg.rcnn.assigner.match_low_quality == want['low_quality']
    ensemble = head.ensemble
    assert (ensemble.alpha, ensemble.temperature) == (0.1, want['vlm_temperature'])
    assert ensemble.background is True and head.background == 'text'
    large_lvis = '/ov_lvis/' in path and ('l16' in path or 'so400m' in path)
    assert ensemble.beta == (0.4 if large_lvis else want['beta'])  # 0.4: F-ViT's L/14 LVIS
    assert head.bg_loss_weight == want['bg_weight']
    assert (head.num_shared_convs, head.num_shared_fcs, head.num_reg_fcs) == (4, 2, 1)
    assert head.classifier == dict(temperature=50.0, relu=True)
    assert head.text_embeddings.templates.en == 'vild_en'
    assert head.text_embeddings.name_style == 'vild'
    assert cfg.param_scheduler[0].end == want['warmup']
    train = cfg.train_dataloader.dataset
    assert train.type != 'ClassBalancedDataset' and 'oversample_thr' not in train
    assert train.type in ('fgclip2_mm.FGCLIP2CocoDataset', 'fgclip2_mm.FGCLIP2LVISV1Dataset')
    assert cfg.test_dataloader.dataset.type == train.type


def test_package_lookups_work_without_pkg_resources():
    import mmdet
    assert package_compat.get_installed_path('mmdet') == osp.dirname(mmdet.__file__)
    assert package_compat.is_installed('mmdet') and not package_compat.is_installed('nope_x')
    with pytest.raises(ModuleNotFoundError, match='nope_x'):
        package_compat.get_installed_path('nope_x')


def synthetic_cfg(path, world, ckpt, work_dir):
    cfg = Config.fromfile(path)
    cfg.work_dir = str(work_dir)
    cfg.model.backbone.checkpoint = ckpt
    text = cfg.model.roi_head.bbox_head.text_embeddings
    text.update(checkpoint=ckpt, tokenizer=f'{world}/tokenizer', cache_dir=str(work_dir))
    for loader in (cfg.train_dataloader, cfg.test_dataloader, cfg.val_dataloader):
        loader.dataset.update(data_root=world + '/', indices=2)
        loader.update(batch_size=2, num_workers=0)
        for step in loader.dataset.pipeline:
            if step.type.endswith('NaFlexResize'):
                step.max_num_patches = 100  # test speed; the recipe uses 256
    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        evaluator.ann_file = f'{world}/annotations/instances_val.json'
    cfg.model.test_cfg.rpn.update(nms_pre=200, max_per_img=50)
    cfg.model.test_cfg.rcnn.max_per_img = 10
    cfg.model.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=50)
    cfg.train_cfg.update(max_epochs=1, val_interval=10)
    cfg.default_hooks.checkpoint = None  # no checkpoint file in a unit test
    cfg.default_hooks.logger.interval = 1
    return cfg


@pytest.mark.parametrize('path,keys', [
    (SYNTHETIC, ('coco/base_ap50', 'coco/novel_ap50')),
    (SYNTHETIC_LVIS, ('lvis/bbox_APr', 'lvis/segm_APr', 'lvis/segm_APf')),
], ids=['ov-coco-twin', 'ov-lvis-twin'])
def test_synthetic_twin_trains_one_iteration_and_tests_one_batch(path, keys, world, ckpt,
                                                                  tmp_path):
    from mmengine.runner import Runner
    cfg = synthetic_cfg(path, world, ckpt, tmp_path)
    runner = Runner.from_cfg(cfg)
    vit = runner.model.backbone.vit
    before = {k: v.clone() for k, v in vit.state_dict().items()}
    head_before = runner.model.roi_head.bbox_head.fc_cls.proj.weight.clone()
    runner.train()
    assert runner.iter == 1
    assert runner.model.classes == list(runner.train_dataloader.dataset.metainfo['classes'])
    assert all(torch.equal(before[k], v) for k, v in vit.state_dict().items()), 'ViT moved'
    assert not torch.equal(head_before, runner.model.roi_head.bbox_head.fc_cls.proj.weight)
    metrics = runner.test()
    for key in keys:
        assert key in metrics and 0 <= metrics[key] <= 1, (key, metrics)


def test_ov_coco_metric_on_synthetic_ground_truth(world):
    """Detections equal to the ground truth give base and novel AP50 of 1; dropping the novel
    ones gives novel AP50 0 (they are still in the ground truth) and keeps base at 1."""
    import json
    from mmdet.evaluation import OVCocoMetric

    from fgclip2_mm.integrations.mmdet import coco_file_metainfo
    ann_file = f'{world}/annotations/instances_val.json'
    meta = coco_file_metainfo(ann_file)
    with open(ann_file, encoding='utf-8') as f:
        coco = json.load(f)
    novel_ids = {c['id'] for c in coco['categories'] if c['name'] in meta['novel_classes']}
    assert novel_ids and any(a['category_id'] in novel_ids for a in coco['annotations'])

    def run(keep_novel):
        metric = OVCocoMetric(ann_file=ann_file, metric='bbox')
        metric.dataset_meta = meta
        samples = []
        for img in coco['images']:
            anns = [a for a in coco['annotations'] if a['image_id'] == img['id'] and
                    (keep_novel or a['category_id'] not in novel_ids)]
            boxes = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in
                                  (a['bbox'] for a in anns)], dtype=torch.float).reshape(-1, 4)
            pred = dict(bboxes=boxes, scores=torch.ones(len(anns)),
                        labels=torch.tensor([a['category_id'] - 1 for a in anns],
                                            dtype=torch.long))
            samples.append(dict(img_id=img['id'], ori_shape=(img['height'], img['width']),
                                pred_instances=pred))
        metric.process({}, samples)
        return metric.evaluate(len(samples))

    full, base_only = run(True), run(False)
    assert full['coco/base_ap50'] == pytest.approx(1.0)
    assert full['coco/novel_ap50'] == pytest.approx(1.0)
    assert base_only['coco/base_ap50'] == pytest.approx(1.0)
    assert base_only['coco/novel_ap50'] == pytest.approx(0.0)


def test_project_readme_names_existing_files():
    import re
    text = open(osp.join(ROOT, 'projects', 'fgclip2_ovdet', 'README.md'), encoding='utf-8').read()
    paths = set(re.findall(r'`((?:configs|tools|fgclip2_mm|projects)/[\w./-]+\.(?:py|sh|md))`',
                           text))
    assert len(paths) > 10
    for path in sorted(paths):
        where = [osp.join(ROOT, path), osp.join(ROOT, 'projects', 'fgclip2_ovdet', path)]
        if path.startswith('configs/_base_/datasets/'):
            where.append(osp.join(CONFIG_DIR, path[len('configs/'):]))
        assert any(osp.exists(p) for p in where), f'README names a missing file: {path}'
    for path in CONFIGS:  # and every config is in its table
        assert osp.relpath(path, osp.dirname(CONFIG_DIR)) in text, path


def test_naflex_resize_matches_the_encoder_preprocessing():
    import numpy as np
    from mmdet.structures.bbox import HorizontalBoxes

    from fgclip2_mm.utils.naflex import get_image_size_for_max_num_patches
    from fgclip2_mm.integrations.mmdet import FGCLIP2NaFlexResize
    resize = FGCLIP2NaFlexResize(max_num_patches=256)
    for height, width in ((48, 640), (404, 421), (639, 120)):
        boxes = HorizontalBoxes(torch.tensor([[0., 0., width, height]]))
        out = resize(dict(img=np.zeros((height, width, 3), np.uint8), gt_bboxes=boxes))
        h, w = out['img'].shape[:2]
        assert (h, w) == get_image_size_for_max_num_patches(height, width, 16, 256)
        assert h % 16 == 0 and w % 16 == 0 and (h // 16) * (w // 16) <= 256
        np.testing.assert_allclose(out['scale_factor'], (w / width, h / height))
        np.testing.assert_allclose(out['gt_bboxes'].tensor[0].numpy(), [0, 0, w, h])
    with pytest.raises(ValueError, match='sets scale itself'):
        FGCLIP2NaFlexResize(max_num_patches=256, scale=(10, 10))
