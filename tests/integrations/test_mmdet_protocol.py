"""Protocol guards of the OV detector (issue 13): the vocabulary must be in the dataset's
label order (a shuffled or 48-category json raises), the OV-LVIS base split goes by category
id (866 classes although mmdet and the LVIS files spell one name differently), ViLD's
templates are formed as F-ViT forms them, and the RPN head with normalised convolutions."""
import json
import os.path as osp
import random
from types import SimpleNamespace

import pytest
import torch

pytest.importorskip('mmdet')

import fgclip2_mm  # noqa: E402,F401
from fgclip2_mm.integrations.mmdet import (FGCLIP2CocoDataset, FGCLIP2LVISV1Dataset,  # noqa
                                           FGCLIP2TextEmbedder, FGCLIP2VocabularyHook,
                                           check_label_order, coco_file_metainfo,
                                           lvis_base_classes, load_templates)

HERE = osp.dirname(osp.abspath(__file__))
LVIS_CATEGORIES = osp.join(HERE, 'data', 'lvis_v1_categories.json')


class _Model:
    def __init__(self):
        self.vocab = None

    def set_vocabulary(self, **vocab):
        self.vocab = vocab


def _runner(dataset):
    loop = SimpleNamespace(dataloader=SimpleNamespace(dataset=dataset))
    return SimpleNamespace(model=_Model(), train_loop=loop, val_loop=loop, test_loop=loop)


def _coco(world, tmp_path, edit=None):
    """FGCLIP2CocoDataset on a copy of the world's val file (``edit`` changes the json),
    with the world's classes as metainfo."""
    src = f'{world}/annotations/instances_val.json'
    meta = coco_file_metainfo(src)
    with open(src, encoding='utf-8') as f:
        coco = json.load(f)
    if edit is not None:
        edit(coco, meta)
    path = tmp_path / 'instances.json'
    path.write_text(json.dumps(coco), encoding='utf-8')
    dataset = FGCLIP2CocoDataset(ann_file=str(path), metainfo=dict(classes=meta['classes']),
                                 data_prefix=dict(img=f'{world}/'), test_mode=True,
                                 pipeline=[])
    return dataset, meta


def test_label_order_guard_passes_on_the_right_file(world, tmp_path):
    dataset, meta = _coco(world, tmp_path)
    assert dataset.label_names() == list(meta['classes'])
    check_label_order(dataset, meta['classes'])
    hook, runner = FGCLIP2VocabularyHook(), _runner(dataset)
    hook.before_test(runner)
    assert runner.model.vocab['classes'] == list(meta['classes'])


def test_label_order_guard_raises_on_a_shuffled_json(world, tmp_path):
    """Categories listed in another order (ids kept): mmdet labels follow the file's order,
    so vocabulary[i] would score another class; the hook raises with both lists."""

    def shuffle(coco, meta):
        random.Random(0).shuffle(coco['categories'])
        assert [c['name'] for c in coco['categories']] != list(meta['classes'])

    dataset, meta = _coco(world, tmp_path, shuffle)
    labels = dataset.label_names()
    assert sorted(labels) == sorted(meta['classes']) and labels != list(meta['classes'])
    hook, runner = FGCLIP2VocabularyHook(), _runner(dataset)
    with pytest.raises(ValueError, match='not in the label order') as err:
        hook.before_test(runner)
    assert f'vocabulary: {list(meta["classes"])}' in str(err.value)
    assert f'annotation file (label order): {labels}' in str(err.value)
    assert runner.model.vocab is None, 'the vocabulary must not be set'
    FGCLIP2VocabularyHook(check_order=False).before_test(runner)  # the opt-out
    assert runner.model.vocab is not None


def test_label_order_guard_raises_on_a_base_only_category_list(world, tmp_path):
    """A training json that lists only the base categories (48 of 65 on OV-COCO) gives
    labels 0..B-1 to the base classes: every label after the first novel one shifts."""

    def base_only(coco, meta):
        coco['categories'] = [c for c in coco['categories']
                              if c['name'] in meta['base_classes']]
        keep = {c['id'] for c in coco['categories']}
        coco['annotations'] = [a for a in coco['annotations'] if a['category_id'] in keep]

    dataset, meta = _coco(world, tmp_path, base_only)
    assert len(dataset.label_names()) == len(meta['base_classes']) < len(meta['classes'])
    with pytest.raises(ValueError, match=f'{len(meta["classes"])} names.*'
                       f'{len(meta["base_classes"])} categories kept'):
        check_label_order(dataset, meta['classes'], 'train dataset')


def test_label_order_guard_sees_through_wrappers(world, tmp_path):
    from mmengine.dataset import ConcatDataset, RepeatDataset

    def shuffle(coco, meta):
        coco['categories'] = coco['categories'][::-1]

    good, meta = _coco(world, tmp_path)
    check_label_order(RepeatDataset(good, times=2), meta['classes'])
    (tmp_path / 'bad').mkdir()
    bad, _ = _coco(world, tmp_path / 'bad', shuffle)
    with pytest.raises(ValueError, match='not in the label order'):
        check_label_order(RepeatDataset(bad, times=2), meta['classes'])
    with pytest.raises(ValueError, match='not in the label order'):
        check_label_order(ConcatDataset([good, bad]), meta['classes'])


# ----------------------------------------------------------------------------------- LVIS
def _lvis_categories():
    with open(LVIS_CATEGORIES, encoding='utf-8') as f:
        return [dict(id=i, name=n, frequency=fr) for i, n, fr in json.load(f)['categories']]


def _lvis_file(tmp_path):
    """An LVIS-v1-like val file: the 1203 real categories (ids, names as the LVIS files
    spell them, frequencies) and two tiny images."""
    cats = _lvis_categories()
    images = [dict(id=i, width=64, height=48, not_exhaustive_category_ids=[],
                   neg_category_ids=[],
                   coco_url=f'http://images.cocodataset.org/val2017/{i:012d}.jpg')
              for i in (1, 2)]
    anns = [dict(id=k + 1, image_id=img, category_id=cat, bbox=[2, 2, 20, 16], area=320,
                 segmentation=[[2, 2, 22, 2, 22, 18, 2, 18]])
            for k, (img, cat) in enumerate([(1, 655), (1, 3), (2, 1)])]
    path = tmp_path / 'lvis_v1_val_tiny.json'
    path.write_text(json.dumps(dict(images=images, annotations=anns, categories=cats)),
                    encoding='utf-8')
    return str(path), cats


def test_lvis_base_split_by_id_has_866_classes(tmp_path):
    pytest.importorskip('lvis')
    from mmdet.datasets import LVISV1Dataset
    ann_file, cats = _lvis_file(tmp_path)
    classes = list(LVISV1Dataset.METAINFO['classes'])  # mmdet's spelling (the vocabulary)
    assert len(cats) == len(classes) == 1203
    assert sum(c['frequency'] == 'r' for c in cats) == 337
    # the name-matching pitfall this split avoids: one base class is lost by name
    by_name = [c['name'] for c in cats if c['frequency'] != 'r' and c['name'] in classes]
    assert len(by_name) == 865 and 'speaker_(stero_equipment)' not in classes

    dataset = FGCLIP2LVISV1Dataset(ann_file=ann_file, data_prefix=dict(img=''),
                                   test_mode=True, pipeline=[])
    assert dataset.cat_ids == list(range(1, 1204))
    check_label_order(dataset, classes)  # passes through the known spelling difference
    base = lvis_base_classes(cats, dataset.cat_ids, classes)
    assert len(base) == 866 and 'speaker_(stereo_equipment)' in base
    for hook in (FGCLIP2VocabularyHook(base_from_frequency=dict(ann_file=ann_file)),
                 FGCLIP2VocabularyHook(base_from_frequency=dict(novel=('r', )))):
        runner = _runner(dataset)
        hook.before_test(runner)
        assert runner.model.vocab['classes'] == classes
        assert runner.model.vocab['base_classes'] == base
    # a shuffled vocabulary is still caught on LVIS (labels follow the file, not the names)
    shuffled = classes[1:] + classes[:1]
    with pytest.raises(ValueError, match='first differences'):
        check_label_order(dataset, shuffled)


def test_lvis_split_errors_name_the_problem():
    cats = _lvis_categories()[:3]
    with pytest.raises(ValueError, match='3 dataset categories for 2 vocabulary classes'):
        lvis_base_classes(cats, [1, 2, 3], ['a', 'b'])
    with pytest.raises(ValueError, match=r'ids \[9\] are not in its categories'):
        lvis_base_classes(cats, [1, 2, 9], ['a', 'b', 'c'])
    with pytest.raises(ValueError, match='without "frequency"'):
        lvis_base_classes([dict(id=1, name='x')], [1], ['x'])
    with pytest.raises(ValueError, match='takes ann_file and novel'):
        FGCLIP2VocabularyHook(base_from_frequency=dict(annfile='x.json'))


# ------------------------------------------------------------------------------ templates
def test_vild_templates_as_fvit_forms_them(ckpt, tmp_path):
    """63 ViLD templates; ``{article}`` from the raw name, F-ViT's name processing, "This
    is " prefixes kept in case (F-ViT/tools/clip_utils.py:5-15, 87-104)."""
    templates = load_templates('vild_en')
    assert len(templates) == 63 and sum("{article}" in t for t in templates) == 15
    embedder = FGCLIP2TextEmbedder(ckpt, templates=dict(en='vild_en'), cache_dir=False,
                                   name_style='vild')
    prompts = embedder.prompts('aerosol_can', 'en')
    assert prompts[0] == 'There is an aerosol can in the scene.'
    assert 'This is a photo of an aerosol can.' in prompts
    assert 'itap of my aerosol can.' in prompts
    assert embedder.prompts('Ferris_wheel', 'en')[0] == 'There is a ferris wheel in the scene.'
    assert embedder.prompts('bowl/dish.', 'en')[1] == 'There is the bowl or dish in the scene.'

    from fgclip2_mm.text.embeddings import encode_text_list
    names = ['umbrella', 'bus', 'Ferris_wheel']  # both articles, one upper-case name
    got = embedder.encode(names, 'en')
    for row, name in zip(got, names):
        emb = encode_text_list(embedder._model, embedder._tokenizer,
                               embedder.prompts(name, 'en'), 'box', False, 64)
        want = torch.nn.functional.normalize(emb.float().mean(0), dim=-1)
        torch.testing.assert_close(row, want.cpu(), atol=1e-5, rtol=1e-5)
    plain = FGCLIP2TextEmbedder(ckpt, templates=dict(en='vild_en'), cache_dir=False)
    assert plain.prompts('Ferris_wheel', 'en')[0] == 'There is a Ferris wheel in the scene.'
    with pytest.raises(ValueError, match='name_style'):
        FGCLIP2TextEmbedder(ckpt, name_style='fancy')
    with pytest.raises(ValueError, match='may be in braces'):
        load_templates(['a {color} {}'])


# ------------------------------------------------------------------------------------ RPN
def test_rpn_head_with_normalised_convs():
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    cfg = dict(type='fgclip2_mm.FGCLIP2RPNHead', in_channels=8, feat_channels=8, num_convs=2,
               norm_cfg=dict(type='BN'),
               anchor_generator=dict(type='AnchorGenerator', scales=[8], ratios=[1.0],
                                     strides=[8]))
    with DefaultScope.overwrite_default_scope('mmdet'):
        head = MODELS.build(cfg)
        plain_cfg = {k: v for k, v in cfg.items() if k != 'norm_cfg'}
        plain = MODELS.build(dict(plain_cfg, type='RPNHead'))  # mmdet's: no norm
    assert len(head.rpn_conv) == len(plain.rpn_conv) == 2
    assert all(m.with_norm and isinstance(m.norm, torch.nn.BatchNorm2d) for m in head.rpn_conv)
    assert not any(m.with_norm for m in plain.rpn_conv)
    cls, reg = head(tuple([torch.randn(2, 8, 6, 5)]))
    assert cls[0].shape == (2, 1, 6, 5) and reg[0].shape == (2, 4, 6, 5)
    with pytest.raises(ValueError, match='num_convs >= 2'):
        with DefaultScope.overwrite_default_scope('mmdet'):
            MODELS.build(dict(cfg, num_convs=1))
