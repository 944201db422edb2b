"""FGCLIP2DataPreprocessor, alone and at the end of the full mmcv-free pipeline."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.dataset import Compose, default_collate, pseudo_collate
from PIL import Image

from fgclip2_mm.datasets.transforms import (FGCLIP2NaFlexPatchify, FGCLIP2PackInputs,
                                            naflex_patchify)
from fgclip2_mm.models.data_preprocessors import FGCLIP2DataPreprocessor
from fgclip2_mm.registry import MODELS
from fgclip2_mm.structures import FGCLIP2DataSample


def _sample(height, width, seed=0, budget=None, texts=True):
    image = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    results = FGCLIP2NaFlexPatchify(max_num_patches=budget)(dict(img=image))
    if texts:
        results['text_short'] = torch.full((64, ), seed, dtype=torch.long)
        results['text_long'] = torch.full((196, ), seed, dtype=torch.long)
    return FGCLIP2PackInputs()(results)


def _batch(sizes=((40, 300), (300, 300), (16, 16)), **kwargs):
    return pseudo_collate([_sample(h, w, seed=i, **kwargs) for i, (h, w) in enumerate(sizes)])


def test_mixed_sizes_are_padded_and_masked():
    data = _batch()
    out = FGCLIP2DataPreprocessor()(data)
    inputs = out['inputs']
    grids = [s.spatial_shape for s in data['data_samples']]
    longest = max(h * w for h, w in grids)
    assert inputs['pixel_values'].shape == (3, longest, 768)
    assert inputs['pixel_values'].dtype == torch.float32
    assert inputs['pixel_attention_mask'].dtype == torch.int32
    assert inputs['spatial_shapes'].dtype == torch.long
    assert inputs['spatial_shapes'].tolist() == [list(g) for g in grids]
    for i, (h, w) in enumerate(grids):
        assert inputs['pixel_attention_mask'][i].tolist() == [1] * (h * w) + [0] * (
            longest - h * w)
        assert torch.equal(inputs['pixel_values'][i, :h * w], data['inputs'][i])
        assert not inputs['pixel_values'][i, h * w:].any()
    assert inputs['input_ids'].shape == (3, 64) and inputs['input_ids'].dtype == torch.long
    assert inputs['long_input_ids'].shape == (3, 196)
    assert inputs['input_ids'][:, 0].tolist() == [0, 1, 2]
    assert out['data_samples'] is not None and len(out['data_samples']) == 3


def test_pad_modes():
    data = _batch()
    budgets = [s.num_patches_budget for s in data['data_samples']]
    assert budgets == [128, 576, 128]
    length = {
        mode: FGCLIP2DataPreprocessor(pad_to=mode)(data)['inputs']['pixel_values'].shape[1]
        for mode in ('longest', 'budget', 'bucket')
    }
    longest = max(h * w for h, w in (s.spatial_shape for s in data['data_samples']))
    assert length['longest'] == longest and length['budget'] == 576
    assert length['bucket'] == min(b for b in (128, 256, 576, 784, 1024) if b >= longest)
    fixed = FGCLIP2DataPreprocessor(pad_to=1024)(data)['inputs']
    assert fixed['pixel_values'].shape == (3, 1024, 768)
    assert fixed['pixel_attention_mask'].sum().item() == sum(p.shape[0] for p in data['inputs'])
    with pytest.raises(ValueError, match='max_num_patches=10'):
        FGCLIP2DataPreprocessor(pad_to=10)(data)
    for bad in ('max', 0, True):
        with pytest.raises(ValueError, match='pad_to'):
            FGCLIP2DataPreprocessor(pad_to=bad)


def test_budget_mode_needs_metainfo():
    patches, shape = naflex_patchify(np.zeros((32, 32, 3), np.uint8), 4)
    sample = FGCLIP2DataSample(metainfo=dict(spatial_shape=shape))
    data = dict(inputs=[torch.from_numpy(patches)], data_samples=[sample])
    assert FGCLIP2DataPreprocessor()(data)['inputs']['pixel_values'].shape == (1, 4, 768)
    with pytest.raises(ValueError, match='num_patches_budget'):
        FGCLIP2DataPreprocessor(pad_to='budget')(data)
    with pytest.raises(ValueError, match='spatial_shape'):
        FGCLIP2DataPreprocessor()(
            dict(inputs=[torch.from_numpy(patches)], data_samples=[FGCLIP2DataSample()]))


def test_dtype_cast_and_device():
    data = _batch()
    out = FGCLIP2DataPreprocessor(pixel_dtype='bfloat16')(data)['inputs']
    assert out['pixel_values'].dtype == torch.bfloat16
    assert out['input_ids'].dtype == torch.long  # ids are never cast
    assert FGCLIP2DataPreprocessor(
        pixel_dtype=torch.float16)(data)['inputs']['pixel_values'].dtype == torch.float16
    with pytest.raises(ValueError, match='pixel_dtype'):
        FGCLIP2DataPreprocessor(pixel_dtype='int8')
    if torch.cuda.is_available():
        pre = FGCLIP2DataPreprocessor().cuda()
        out = pre(data)
        assert all(t.is_cuda for t in out['inputs'].values())
        assert out['data_samples'][0].text_short.is_cuda


def test_text_keys_mapping_and_consistency():
    data = _batch()
    pre = FGCLIP2DataPreprocessor(text_keys={'text_short': 'box_input_ids'})
    assert set(pre(data)['inputs']) == {
        'pixel_values', 'pixel_attention_mask', 'spatial_shapes', 'box_input_ids'
    }
    no_text = _batch(texts=False)
    assert 'input_ids' not in FGCLIP2DataPreprocessor()(no_text)['inputs']
    mixed = pseudo_collate([_sample(32, 32, 0), _sample(32, 32, 1, texts=False)])
    with pytest.raises(ValueError, match=r"'text_short' is missing in data samples \[1\]"):
        FGCLIP2DataPreprocessor()(mixed)
    for sample, k in zip(data['data_samples'], (2, 3, 2)):
        sample.set_data(dict(text_box=torch.zeros(k, 64, dtype=torch.long)))
    with pytest.raises(ValueError, match='different shapes'):
        FGCLIP2DataPreprocessor(text_keys={'text_box': 'box_input_ids'})(data)
    with pytest.raises(ValueError, match='text_keys'):
        FGCLIP2DataPreprocessor(text_keys={'text_short': 'pixel_values'})


def test_other_input_layouts():
    same = [_sample(64, 64, seed=i) for i in range(2)]
    stacked = default_collate(same)
    assert isinstance(stacked['inputs'], torch.Tensor) and stacked['inputs'].ndim == 3
    ref = FGCLIP2DataPreprocessor()(pseudo_collate(same))['inputs']
    out = FGCLIP2DataPreprocessor()(stacked)['inputs']
    for key in ref:
        assert torch.equal(out[key], ref[key])
    passthrough = FGCLIP2DataPreprocessor()(dict(inputs=dict(ref), data_samples=None))
    assert torch.equal(passthrough['inputs']['pixel_values'], ref['pixel_values'])
    text_only = FGCLIP2DataPreprocessor()(
        dict(inputs=None, data_samples=pseudo_collate(same)['data_samples']))
    assert set(text_only['inputs']) == {'input_ids', 'long_input_ids'}
    with pytest.raises(ValueError, match='data samples'):
        FGCLIP2DataPreprocessor()(dict(inputs=pseudo_collate(same)['inputs']))


def test_builds_from_registry_without_mutating_cfg():
    cfg = dict(
        type='fgclip2_mm.FGCLIP2DataPreprocessor',
        pad_to='budget',
        text_keys={'text_short': 'input_ids'})
    before = json.dumps(cfg, sort_keys=True)
    pre = MODELS.build(cfg)
    assert isinstance(pre, FGCLIP2DataPreprocessor) and pre.pad_to == 'budget'
    assert json.dumps(cfg, sort_keys=True) == before


def _tiny_tokenizer(folder):
    from tokenizers import Tokenizer, models, normalizers, processors, trainers
    tok = Tokenizer(models.BPE(byte_fallback=True, unk_token='<unk>'))
    tok.normalizer = normalizers.Replace(' ', '▁')
    specials = ['<pad>', '<eos>', '<bos>', '<unk>'] + [f'<0x{i:02X}>' for i in range(256)]
    tok.train_from_iterator(['a photo of a red square', 'a blue circle on grass'] * 5,
                            trainers.BpeTrainer(
                                vocab_size=300, special_tokens=specials, show_progress=False))
    tok.post_processor = processors.TemplateProcessing(
        single='<bos> $A', special_tokens=[('<bos>', 2)])
    tok.save(osp.join(folder, 'tokenizer.json'))
    with open(osp.join(folder, 'tokenizer_config.json'), 'w') as f:
        json.dump(
            dict(
                tokenizer_class='PreTrainedTokenizerFast',
                padding_side='left',
                pad_token='<pad>',
                bos_token='<bos>',
                eos_token='<eos>',
                unk_token='<unk>'), f)
    return folder


def test_end_to_end_pipeline(tmp_path):
    pytest.importorskip('transformers')
    tok_dir = _tiny_tokenizer(str(tmp_path))
    rng = np.random.default_rng(0)
    records = []
    for i, (h, w) in enumerate([(60, 200), (240, 320), (500, 90)]):
        path = str(tmp_path / f'img{i}.png')
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
        records.append(
            dict(
                img_path=path,
                sample_idx=i,
                short_caption=f'A Photo {i}',
                caption='a blue circle on grass',
                gt_bboxes=np.array([[0, 0, w, h]], np.float32)))
    pipeline = Compose([
        dict(type='fgclip2_mm.FGCLIP2LoadImage'),
        dict(type='fgclip2_mm.FGCLIP2NaFlexPatchify', max_num_patches=256),
        dict(
            type='fgclip2_mm.FGCLIP2Tokenize',
            tokenizer=dict(folder=tok_dir),
            keys=dict(short_caption=('text_short', 'short'), caption=('text_long', 'long'))),
        dict(type='fgclip2_mm.FGCLIP2PackInputs'),
    ])
    packed = [pipeline(dict(record)) for record in records]
    pre = MODELS.build(dict(type='fgclip2_mm.FGCLIP2DataPreprocessor', pad_to='budget'))
    out = pre(pseudo_collate(packed))
    inputs, samples = out['inputs'], out['data_samples']
    assert inputs['pixel_values'].shape == (3, 256, 768)
    assert inputs['input_ids'].shape == (3, 64) and inputs['long_input_ids'].shape == (3, 196)
    assert (inputs['input_ids'][:, 0] == 2).all() and (inputs['input_ids'][:, -1] == 0).all()
    for i, (sample, record) in enumerate(zip(samples, records)):
        h, w = sample.spatial_shape
        assert inputs['pixel_attention_mask'][i].sum().item() == h * w <= 256
        assert sample.img_path == record['img_path'] and sample.sample_idx == i
        x2, y2 = record['gt_bboxes'][0, 2:]
        assert tuple(sample.ori_shape) == (int(y2), int(x2))
        torch.testing.assert_close(sample.gt_instances.grid_bboxes, torch.tensor([[0., 0., w, h]]))
        assert torch.equal(sample.gt_instances.bboxes, torch.from_numpy(record['gt_bboxes']))
    # pixel values equal those of the functional path on the decoded image
    decoded = np.asarray(Image.open(records[1]['img_path']).convert('RGB'))
    patches, shape = naflex_patchify(decoded, 256)
    assert torch.equal(inputs['pixel_values'][1, :patches.shape[0]], torch.from_numpy(patches))
