"""Retrieval and image classification: every annotation format parser, and the full
pipeline against a brute-force evaluation through the inference API."""
import json
import os.path as osp

import pytest
import torch
from PIL import Image

from fgclip2_mm.apis import encode_images, encode_texts
from fgclip2_mm.datasets import FGCLIP2ImageClsDataset, FGCLIP2RetrievalDataset
from fgclip2_mm.datasets.eval.retrieval_formats import parse_retrieval
from fgclip2_mm.synthetic_world import CATEGORY_NAMES, CATEGORY_NAMES_ZH
from fgclip2_mm.evaluation import evaluate_zero_shot


def write(path, obj):
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding='utf-8')
    return str(path)


def test_every_format_parser(tmp_path):
    coco = dict(images=[dict(id=1, file_name='a.jpg'), dict(id=2, file_name='b.jpg'),
                        dict(id=3, file_name='c.jpg')],
                annotations=[dict(image_id=2, caption=' B1'), dict(image_id=1, caption='A1'),
                             dict(image_id=2, caption='B2')])
    assert parse_retrieval(write(tmp_path / 'c.json', coco), 'coco_captions') == (
        [('a.jpg', ['A1']), ('b.jpg', ['B1', 'B2'])], 1)
    karpathy = dict(images=[
        dict(filename='x.jpg', filepath='val2014', split='test',
             sentences=[dict(raw='X1'), dict(raw='X2')]),
        dict(filename='y.jpg', split='train', sentences=[dict(raw='Y')])])
    assert parse_retrieval(write(tmp_path / 'k.json', karpathy), 'karpathy') == (
        [('val2014/x.jpg', ['X1', 'X2'])], 1)
    share = [dict(image='coco/1.jpg', conversations=[dict(value='q', **{'from': 'human'}),
                                                     dict(value='long one', **{'from': 'gpt'})])]
    assert parse_retrieval(write(tmp_path / 's.json', share), 'sharegpt4v') == (
        [('coco/1.jpg', ['long one'])], 0)
    dci = tmp_path / 'dci'
    dci.mkdir()
    write(dci / 'b.json', dict(image='sa_2.jpg', extra_caption='second'))
    write(dci / 'a.json', dict(image='sa_1.jpg', extra_caption='first'))
    write(dci / 'c.json', dict(image='sa_3.jpg', short_caption='no long one'))
    assert parse_retrieval(str(dci), 'dci') == ([('sa_1.jpg', ['first']),
                                                 ('sa_2.jpg', ['second'])], 1)
    tsv = 'p/1.jpg#0\t一只猫\np/2.jpg\t一条狗\n\np/1.jpg#1\t猫在睡觉\n'
    assert parse_retrieval(write(tmp_path / 't.txt', tsv), 'tsv') == (
        [('p/1.jpg', ['一只猫', '猫在睡觉']), ('p/2.jpg', ['一条狗'])], 0)
    with pytest.raises(ValueError, match=r'bad.tsv:2: expected "image_path<TAB>caption"'):
        parse_retrieval(write(tmp_path / 'bad.tsv', 'a.jpg\tok\nno tab here\n'), 'tsv')
    with pytest.raises(ValueError, match='ann_format must be one of'):
        parse_retrieval(str(tmp_path / 't.txt'), 'csv')


def test_retrieval_dataset_limits_and_walk_checks(eval_world, tmp_path):
    ds = FGCLIP2RetrievalDataset(ann_file='annotations/retrieval_short_en_val.json',
                                 data_root=eval_world, max_captions=2, max_images=5)
    assert len(ds) == 5 and all(len(ds.get_data_info(i)['captions']) == 2 for i in range(5))
    assert ds.metainfo['text_walk'] == 'short' and ds.metainfo['eval_task'] == 'retrieval'
    with pytest.raises(ValueError, match="'short' or 'long'"):
        FGCLIP2RetrievalDataset(ann_file='x.json', text_walk='box')


def brute_force_recall(model, world, records, tokenizer, walk):
    """Recall@1 both ways with plain loops over inference-API embeddings."""
    # One image per call: each image gets its own dynamic patch budget, as in the datasets.
    images = torch.cat([encode_images(model, Image.open(osp.join(world, r['image'])))
                        for r in records])
    texts, owner = [], []
    for i, record in enumerate(records):
        texts += record['captions']
        owner += [i] * len(record['captions'])
    text = encode_texts(model, texts, tokenizer, walk)
    sims = images @ text.t()
    i2t = sum(owner[int(sims[i].argmax())] == i for i in range(len(records)))
    t2i = sum(int(sims[:, j].argmax()) == owner[j] for j in range(len(texts)))
    return i2t / len(records), t2i / len(texts)


@pytest.mark.parametrize('kind,walk', [('short', 'short'), ('long', 'long')])
def test_retrieval_matches_brute_force(eval_world, tiny_model, kind, walk):
    ann = f'annotations/retrieval_{kind}_en_val.json'
    out = evaluate_zero_shot(
        tiny_model, [dict(dataset=dict(type='FGCLIP2RetrievalDataset', ann_file=ann,
                                       data_root=eval_world, text_walk=walk),
                          metric=dict(type='FGCLIP2RetrievalMetric'))],
        osp.join(eval_world, 'tokenizer'), cache_dir=None)
    records = json.load(open(osp.join(eval_world, ann)))
    i2t, t2i = brute_force_recall(tiny_model, eval_world, records,
                                  osp.join(eval_world, 'tokenizer'), walk)
    assert out['retrieval/i2t_r1'] == pytest.approx(i2t)
    assert out['retrieval/t2i_r1'] == pytest.approx(t2i)
    assert out['retrieval/num_images'] == len(records)


def test_image_cls_list_file_and_synthetic_classes(eval_world, tiny_model):
    for lang, names in (('en', CATEGORY_NAMES), ('zh', CATEGORY_NAMES_ZH)):
        ds = FGCLIP2ImageClsDataset(ann_file='annotations/cls_val.txt', data_root=eval_world,
                                    classes='synthetic', templates=f'synthetic_bare_{lang}',
                                    lang=lang)
        assert ds.metainfo['classes'] == tuple(names)
    lines = open(osp.join(eval_world, 'annotations', 'cls_val.txt')).read().split()
    assert ds.get_data_info(0)['gt_label'] == int(lines[1])
    out = evaluate_zero_shot(
        tiny_model, [dict(dataset=dict(type='FGCLIP2ImageClsDataset',
                                       ann_file='annotations/cls_val.txt', data_root=eval_world,
                                       classes='synthetic', templates='synthetic_bare_en'),
                          metric=dict(type='FGCLIP2ImageClsMetric', topk=(1, 16)))],
        osp.join(eval_world, 'tokenizer'), cache_dir=None)
    assert out['zeroshot_cls/top16'] == 1.0 and out['zeroshot_cls/num_images'] == len(ds)


def test_image_cls_folder_tree_numeric_order_and_bad_labels(tmp_path):
    for folder in ('0', '2', '10'):
        (tmp_path / 'tree' / folder).mkdir(parents=True)
        Image.new('RGB', (32, 32)).save(tmp_path / 'tree' / folder / 'im.jpg')
    ds = FGCLIP2ImageClsDataset(data_prefix=dict(img_path=str(tmp_path / 'tree')))
    assert ds.metainfo['classes'] == ('0', '2', '10')
    assert [ds.get_data_info(i)['gt_label'] for i in range(3)] == [0, 1, 2]
    write(tmp_path / 'list.txt', 'a.jpg 0\nb.jpg 7\n')
    with pytest.raises(ValueError, match=r'list.txt line 2: label 7 outside \[0, 2\)'):
        FGCLIP2ImageClsDataset(ann_file=str(tmp_path / 'list.txt'), classes=['cat', 'dog'])
    with pytest.raises(ValueError, match='needs classes'):
        FGCLIP2ImageClsDataset(ann_file=str(tmp_path / 'list.txt'))
