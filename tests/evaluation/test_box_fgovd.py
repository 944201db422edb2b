"""Box classification and FG-OVD: parsing, failed samples, predictions against the
inference API (an independent path), and Runner.test / Runner.val / evaluate_zero_shot
agreeing on the same checkpoint and data."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from fgclip2_mm.apis import encode_regions, encode_texts
from fgclip2_mm.datasets import FGCLIP2BoxClsDataset, FGCLIP2FGOVDDataset
from fgclip2_mm.synthetic_world import CATEGORY_NAMES
from fgclip2_mm.evaluation import FGCLIP2ZeroShotHead, attach_head, evaluate_zero_shot

ANN = 'annotations/instances_val.json'


def box_dataset(world, **kwargs):
    cfg = dict(ann_file=ANN, data_root=world, vocabulary='colour_shape',
               templates='synthetic_bare_en')
    cfg.update(kwargs)
    return FGCLIP2BoxClsDataset(**cfg)


def step(model, head, items):
    """One batch through ``model.test_step`` with ``head`` as its zero-shot path."""
    attach_head(model, head)
    return model.test_step(dict(inputs=[b['inputs'] for b in items],
                                data_samples=[b['data_samples'] for b in items]))


def test_box_labels_are_colour_shape_phrases(eval_world):
    coco = json.load(open(osp.join(eval_world, ANN)))
    for lang, phrase in (('en', '{colour} {shape}'), ('zh', None)):
        ds = box_dataset(eval_world, lang=lang)
        classes = ds.metainfo['classes']
        assert len(classes) == 176 and len(set(classes)) == 176
        info = ds.get_data_info(0)
        anns = [a for a in coco['annotations'] if a['image_id'] == info['img_id']]
        assert info['ann_ids'] == [a['id'] for a in anns]
        if phrase:
            assert [classes[i] for i in info['gt_labels']] == [
                phrase.format(**a['attributes']) for a in anns]
        x, y, w, h = anns[0]['bbox']
        assert np.allclose(info['gt_bboxes'][0], [x, y, x + w, y + h])
    total = sum(len(ds.get_data_info(i)['gt_labels']) for i in range(len(ds)))
    assert total == len(coco['annotations'])


def test_box_categories_vocabulary_lvis_style(eval_world, tmp_path):
    coco = json.load(open(osp.join(eval_world, ANN)))
    coco['categories'][0]['name'] = 'baseball_bat'
    for image in coco['images']:  # LVIS v1 names images by coco_url only
        image['coco_url'] = 'http://images.example.org/' + image.pop('file_name')
    (tmp_path / 'lvis.json').write_text(json.dumps(coco))
    ds = FGCLIP2BoxClsDataset(ann_file=str(tmp_path / 'lvis.json'), data_root=eval_world,
                              data_prefix=dict(img_path='images/'), replace_underscores=True)
    assert ds.metainfo['classes'] == ('baseball bat', ) + CATEGORY_NAMES[1:]
    assert len(ds.metainfo['templates']) == 80
    assert ds.get_data_info(0)['img_path'] == osp.join(eval_world, 'images', 'val',
                                                       '000000.jpg')
    shape = coco['annotations'][0]['attributes']['shape']
    assert ds.get_data_info(0)['gt_labels'][0] == CATEGORY_NAMES.index(shape)


def test_bad_records_name_file_and_field(eval_world, tmp_path):
    coco = json.load(open(osp.join(eval_world, ANN)))
    coco['annotations'][3]['bbox'] = [1, 2, -3, 4]
    (tmp_path / 'bad.json').write_text(json.dumps(coco))
    with pytest.raises(ValueError, match=r'bad.json: annotation id 4 has an invalid "bbox"'):
        FGCLIP2BoxClsDataset(ann_file=str(tmp_path / 'bad.json'), data_root=eval_world)
    lines = [dict(img_path='a.jpg', bbox=[0, 0, 5, 5], pos_expression=['x'],
                  neg_expression=['y', 'z']),
             dict(img_path='a.jpg', bbox=[0, 0, 5, 5], pos_expression=[], neg_expression=[])]
    (tmp_path / 'f.jsonl').write_text('\n'.join(json.dumps(r) for r in lines))
    with pytest.raises(ValueError, match=r'f.jsonl:2: field .pos_expression. must be'):
        FGCLIP2FGOVDDataset(ann_file=str(tmp_path / 'f.jsonl'))
    with pytest.raises(ValueError, match='vocabulary must be one of'):
        box_dataset(eval_world, vocabulary='words')


def test_predictions_match_the_inference_api(eval_world, tiny_model):
    """pred_scores of model.test_step == scores from apis.encode_regions / encode_texts."""
    tok = osp.join(eval_world, 'tokenizer')
    ds = box_dataset(eval_world)
    head = FGCLIP2ZeroShotHead(tok, cache_dir=None)
    head.prepare(ds.metainfo)
    out = step(tiny_model, head, [ds[i] for i in range(3)])
    phrases = ['a ' + c for c in ds.metainfo['classes']]
    text = encode_texts(tiny_model, phrases, tok, 'box')
    for i, sample in enumerate(out):
        info = ds.get_data_info(i)
        image = Image.open(info['img_path'])
        regions = encode_regions(tiny_model, image, info['gt_bboxes'])[0]
        assert torch.allclose(sample.pred_scores, regions @ text.t(), atol=1e-5)

    fg = FGCLIP2FGOVDDataset(ann_file='annotations/fgovd_hard_en_val.jsonl',
                             data_root=eval_world)
    head.prepare(fg.metainfo)
    sample = step(tiny_model, head, [fg[0]])[0]
    info = fg.get_data_info(0)
    region = encode_regions(tiny_model, Image.open(info['img_path']), info['gt_bboxes'])[0]
    cos = region @ encode_texts(tiny_model, info['texts'], tok, 'box').t()
    assert sample.pred_scores.shape == (11, )
    assert torch.allclose(sample.pred_scores, (100 * cos[0]).softmax(-1), atol=1e-5)


def test_failed_images_are_counted_not_dropped(eval_world, tmp_path, tiny_model):
    coco = json.load(open(osp.join(eval_world, ANN)))
    coco['images'][1]['file_name'] = 'images/val/missing.jpg'
    num_missing = sum(a['image_id'] == coco['images'][1]['id'] for a in coco['annotations'])
    (tmp_path / 'inst.json').write_text(json.dumps(coco))
    cfg = dict(type='FGCLIP2BoxClsDataset', ann_file=str(tmp_path / 'inst.json'),
               data_root=eval_world, vocabulary='colour_shape', templates='synthetic_bare_en')
    with pytest.raises(FileNotFoundError, match='record 1 .*missing.jpg'):
        evaluate_zero_shot(tiny_model, [dict(dataset=cfg, metric=dict(type='FGCLIP2BoxClsMetric',
                                                                      topk=(1, 176)))],
                           osp.join(eval_world, 'tokenizer'), cache_dir=None)
    out = evaluate_zero_shot(
        tiny_model, [dict(dataset=dict(cfg, on_error='count'),
                          metric=dict(type='FGCLIP2BoxClsMetric', topk=(1, 176)))],
        osp.join(eval_world, 'tokenizer'), cache_dir=None)
    assert out['box_cls/num_failed_images'] == 1
    assert out['box_cls/num_failed_boxes'] == num_missing
    assert out['box_cls/num_boxes'] == len(coco['annotations'])
    # every loaded box is within the top-176 (all classes): only the failed ones miss.
    assert out['box_cls/top176'] == pytest.approx(1 - num_missing / len(coco['annotations']))


def test_image_work_is_shared_and_reset(eval_world, tiny_model):
    """FG-OVD records of one image share one vision forward; box classification on the
    same boxes afterwards reuses the memo; reset() forgets it; the scores do not change."""
    tok = osp.join(eval_world, 'tokenizer')
    fg = FGCLIP2FGOVDDataset(ann_file='annotations/fgovd_hard_en_val.jsonl',
                             data_root=eval_world)
    items = [fg[i] for i in range(len(fg))]
    num_images = len({fg.get_data_info(i)['img_path'] for i in range(len(fg))})
    head = FGCLIP2ZeroShotHead(tok, cache_dir=None)
    head.prepare(fg.metainfo)
    first = [s.pred_scores.clone() for s in step(tiny_model, head, items)]
    assert head.num_image_forwards == num_images < len(fg)

    ds = box_dataset(eval_world)
    head.prepare(ds.metainfo)
    step(tiny_model, head, [ds[i] for i in range(len(ds))])
    assert head.num_image_forwards == num_images  # every image already memoised

    head.reset()
    head.prepare(fg.metainfo)
    again = step(tiny_model, head, items)
    assert head.num_image_forwards == num_images
    for a, b in zip(first, again):
        assert torch.allclose(a, b.pred_scores, atol=1e-6)


def test_tokenizer_folder_follows_the_model_text_lengths(eval_world):
    """A model with 16 / 52 text positions evaluates from a plain tokenizer folder (texts
    padded to the model's walks, as in training), through the head and the API."""
    from fgclip2_mm.models import FGCLIP2
    from fgclip2_mm.models.utils.arch_zoo import get_arch
    arch = get_arch('tiny')
    arch['text'].update(max_len=16, long_len=52, keep_len=4)
    torch.manual_seed(0)
    model = FGCLIP2(arch=arch).eval()
    tok = osp.join(eval_world, 'tokenizer')
    ds = box_dataset(eval_world)
    head = FGCLIP2ZeroShotHead(tok, cache_dir=None)
    head.prepare(ds.metainfo)
    out = step(model, head, [ds[0]])
    assert (head.tokenizer.short_length, head.tokenizer.long_length) == (16, 52)
    assert out[0].pred_scores.shape[-1] == len(ds.metainfo['classes'])
    assert encode_texts(model, ['a red circle'], tok, 'long').shape == (1, 32)
    explicit = FGCLIP2ZeroShotHead(dict(folder=tok, short_length=64), cache_dir=None)
    explicit.prepare(ds.metainfo)
    with pytest.raises(ValueError, match='at most 16 tokens'):  # explicit lengths are kept
        step(model, explicit, [ds[0]])
