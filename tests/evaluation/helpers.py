"""Shared pieces of the zero-shot loop tests: the four synthetic tasks, and their
predictions computed independently of the loop (one image at a time with the model's
official methods, no data preprocessor, no batching, no memo)."""
import os.path as osp

import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric

from fgclip2_mm.text.tokenization import FGCLIP2Tokenizer
from fgclip2_mm.utils.naflex import collate_naflex

#: name -> (dataset config, metric config); data_root is set by :func:`task_configs`.
TASKS = {
    'box_cls': (dict(type='FGCLIP2BoxClsDataset', ann_file='annotations/instances_val.json',
                     vocabulary='colour_shape', templates='synthetic_bare_en'),
                dict(type='FGCLIP2BoxClsMetric', topk=(1, 5))),
    'fgovd': (dict(type='FGCLIP2FGOVDDataset', ann_file='annotations/fgovd_hard_en_val.jsonl'),
              dict(type='FGCLIP2FGOVDMetric')),
    'retrieval': (dict(type='FGCLIP2RetrievalDataset',
                       ann_file='annotations/retrieval_short_en_val.json'),
                  dict(type='FGCLIP2RetrievalMetric', ks=(1, 5))),
    'image_cls': (dict(type='FGCLIP2ImageClsDataset', ann_file='annotations/cls_val.txt',
                       classes='synthetic', templates='synthetic_bare_en'),
                  dict(type='FGCLIP2ImageClsMetric', topk=(1, 5))),
}
FIELDS = ('pred_scores', 'image_embeds', 'text_embeds')


def task_configs(world: str, names=tuple(TASKS)) -> list:
    """``[dict(dataset=..., metric=...)]`` of ``names`` on the world at ``world``."""
    return [dict(dataset=dict(TASKS[n][0], data_root=world), metric=dict(TASKS[n][1]))
            for n in names]


class Recorder(BaseMetric):
    """Keeps every predicted sample's fields (test-local, not registered)."""

    def __init__(self) -> None:
        super().__init__(prefix='recorded')

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            self.results.append({k: sample[k] for k in ('sample_idx', *FIELDS) if k in sample})

    def compute_metrics(self, results) -> dict:
        self.recorded = {r['sample_idx']: r for r in results}
        return {}


def _texts(model, tok, texts, walk, lowercase):
    texts = [t.lower() for t in texts] if lowercase else list(texts)
    ids = tok(texts, walk_type=walk)
    return F.normalize(model.get_text_features(ids, walk).float(), dim=-1)


@torch.no_grad()
def independent_predictions(model, dataset, tokenizer_folder: str) -> dict:
    """sample_idx -> the fields the loop must write, one image at a time."""
    meta = dataset.metainfo
    tok = FGCLIP2Tokenizer(osp.join(tokenizer_folder), lowercase=False,
                           short_length=model.text_encoder.max_len,
                           long_length=model.text_encoder.long_len)
    walk, lower = meta['text_walk'], meta.get('lowercase', True)
    classes = None
    if meta['eval_task'] in ('box_cls', 'image_cls'):
        classes = torch.stack([
            F.normalize(_texts(model, tok, [t.format(c) for t in meta['templates']], walk,
                               lower).mean(0), dim=-1) for c in meta['classes']])
    out = {}
    for index in range(len(dataset)):
        item = dataset[index]
        sample = item['data_samples']
        h, w = (int(v) for v in sample.metainfo['spatial_shape'])
        vision = collate_naflex([(item['inputs'][:h * w], (h, w))])
        vision = (vision['pixel_values'], vision['pixel_attention_mask'],
                  vision['spatial_shapes'])
        task, row = meta['eval_task'], {}
        if task in ('box_cls', 'fgovd'):
            boxes = torch.as_tensor(sample.gt_instances.bboxes, dtype=torch.float32)
            size = tuple(int(v) for v in sample.metainfo['ori_shape'][:2])
            regions = F.normalize(model.get_image_region_features(
                *vision, [size], [boxes])[0].float(), dim=-1)
            if task == 'box_cls':
                row['pred_scores'] = regions @ classes.t()
            else:
                cos = regions @ _texts(model, tok, sample.metainfo['texts'], walk, lower).t()
                row['pred_scores'] = (100 * cos[0]).softmax(-1)
        else:
            image = F.normalize(model.get_image_features(*vision).float(), dim=-1)[0]
            if task == 'image_cls':
                row['pred_scores'] = image @ classes.t()
            else:
                row['image_embeds'] = image
                row['text_embeds'] = _texts(model, tok, sample.metainfo['captions'], walk,
                                            lower)
        out[sample.metainfo['sample_idx']] = row
    return out
