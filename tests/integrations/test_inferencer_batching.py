"""Both inferencers on lists and folders: batched results equal one-by-one results, batches
never mix shapes, the vocabulary is encoded once, long lists show a progress bar."""
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip('mmdet')
pytest.importorskip('mmseg')

from mmengine.config import Config  # noqa: E402

from fgclip2_mm.apis.batching import group_batches  # noqa: E402
from fgclip2_mm.integrations.mmdet import FGCLIP2OVDetInferencer  # noqa: E402
from fgclip2_mm.integrations.mmdet.testing import tiny_inferencer_cfg  # noqa: E402
from fgclip2_mm.integrations.mmseg import FGCLIP2OVSegInferencer  # noqa: E402
from fgclip2_mm.integrations.mmseg.testing import tiny_segmentor_cfg  # noqa: E402

#: (height, width): one size three times, two twice, two alone, interleaved
SIZES = [(60, 90), (90, 60), (60, 90), (64, 64), (90, 60), (61, 91), (64, 64), (40, 100),
         (60, 90)]


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    """Seeded smooth RGB images of :data:`SIZES` (arrays) and the same as PNG files."""
    folder = tmp_path_factory.mktemp('batch_images')
    rng = np.random.default_rng(0)
    arrays = []
    for i, (h, w) in enumerate(SIZES):
        coarse = rng.integers(0, 256, (h // 8 + 2, w // 8 + 2, 3), dtype=np.uint8)
        arrays.append(np.asarray(Image.fromarray(coarse).resize((w, h), Image.BILINEAR)))
        Image.fromarray(arrays[-1]).save(folder / f'{i:02d}.png')
    return dict(arrays=arrays, folder=folder,
                paths=[str(folder / f'{i:02d}.png') for i in range(len(SIZES))])


@pytest.fixture(scope='module')
def detector(ckpt):
    return FGCLIP2OVDetInferencer(Config(tiny_inferencer_cfg(ckpt, cache_dir=False)),
                                  texts='circle . square . heart')


def spy_batches(monkeypatch, owner, name: str, key) -> list:
    """Record ``key(args)`` of every call of ``owner.name``."""
    calls = []
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        calls.append(key(*args, **kwargs))
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
    return calls


def test_group_batches_keeps_keys_apart_and_order_inside():
    keys = ['a', 'b', 'a', 'c', 'a', 'b', 'a']
    assert group_batches(keys, 2) == [[0, 2], [4, 6], [1, 5], [3]]
    assert group_batches(keys, 10) == [[0, 2, 4, 6], [1, 5], [3]]
    with pytest.raises(ValueError, match='batch_size'):
        group_batches(keys, 0)


def test_detector_pyramid_is_contiguous_for_mmcv_roi_align(detector):
    """mmcv's CPU RoIAlign reads its input as NCHW: a channels-last pyramid gave wrong RoI
    features (and detections) for batches of two or more images."""
    levels, _ = detector.model.backbone(torch.randn(2, 3, 64, 96))
    assert all(level.is_contiguous() for level in levels)


@pytest.mark.parametrize('source', ['arrays', 'paths'])
def test_detector_batched_equals_one_by_one(detector, images, monkeypatch, source):
    bgr = [a[..., ::-1].copy() for a in images['arrays']]  # mmdet's arrays are BGR
    inputs = bgr if source == 'arrays' else images['paths']
    alone = [detector(x, return_datasamples=True)['predictions'][0].pred_instances
             for x in inputs]
    shapes = spy_batches(monkeypatch, detector, 'forward',
                         lambda data, **_: [tuple(x.shape) for x in data['inputs']])
    batched = detector(inputs, batch_size=3, return_datasamples=True)['predictions']
    assert len(batched) == len(inputs)
    assert max(len(s) for s in shapes) == 3, shapes  # batching happened
    assert all(len(set(s)) == 1 for s in shapes), shapes  # never mixed shapes
    for i, (one, many) in enumerate(zip(alone, batched)):
        many = many.pred_instances
        assert len(one) == len(many) > 0, i
        torch.testing.assert_close(many.bboxes, one.bboxes, atol=1e-3, rtol=0, msg=str(i))
        torch.testing.assert_close(many.scores, one.scores, atol=1e-5, rtol=0, msg=str(i))
        assert torch.equal(many.labels, one.labels), i


def test_detector_folder_names_encodes_once_and_shows_progress(detector, images, monkeypatch,
                                                              tmp_path, capsys):
    head = detector.model.roi_head.bbox_head
    encodes = spy_batches(monkeypatch, head.embedder, 'encode', lambda *a, **k: a[0])
    detector.show_progress = True
    try:
        out = detector(str(images['folder']), texts='circle . 圆形', batch_size=4,
                       out_dir=str(tmp_path), no_save_pred=False)
    finally:
        detector.show_progress = None
    # the vocabulary (and the text background) once for the call, not per batch
    assert encodes[0] == ['circle', '圆形'] and len(encodes) <= 2, encodes
    assert len(out['predictions']) == len(SIZES)
    assert sorted(p.name for p in (tmp_path / 'vis').iterdir()) == [
        f'{i:02d}.png' for i in range(len(SIZES))]
    assert (tmp_path / 'preds' / '05.json').is_file()
    assert f'{len(SIZES)}/{len(SIZES)}' in capsys.readouterr().err
    # arrays are named by their index in the call, whatever the batch order
    out = detector(images['arrays'][:4], batch_size=2, out_dir=str(tmp_path / 'a'))
    assert len(encodes) <= 2, 'the same vocabulary is not encoded again'
    names = sorted(p.name for p in (tmp_path / 'a' / 'vis').iterdir())
    first = int(names[0].split('.')[0])
    assert names == [f'{first + i:08d}.jpg' for i in range(4)]


@pytest.fixture(scope='module')
def segmenter(ckpt):
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmseg'):
        return FGCLIP2OVSegInferencer(MODELS.build(tiny_segmentor_cfg(ckpt, patch_budget=32)))


def test_segmenter_batched_equals_one_by_one(segmenter, images, monkeypatch, tmp_path):
    model = segmenter.model
    alone = [segmenter(a, texts=['circle', '正方形']) for a in images['arrays']]
    encodes = spy_batches(monkeypatch, model, 'embedder', lambda *a, **k: a[2].names_in('en'))
    monkeypatch.setattr(model, '_text', dict(train=None, test=None))  # as a new vocabulary
    shapes = spy_batches(monkeypatch, model, 'test_step',
                         lambda data: [tuple(x.shape) for x in data['inputs']])
    batched = segmenter(images['arrays'], batch_size=2, out_dir=str(tmp_path))
    assert len(encodes) == 1, encodes
    assert [len(s) for s in shapes] == [2, 1, 2, 2, 1, 1], shapes
    assert all(len(set(s)) == 1 for s in shapes), shapes
    for i, (one, many) in enumerate(zip(alone, batched)):
        assert many['pred'].shape == SIZES[i] and many['classes'] == ['circle', '正方形']
        np.testing.assert_allclose(many['probs'], one['probs'], atol=1e-5, err_msg=str(i))
        assert (many['pred'] == one['pred']).mean() > 0.999, i
        assert osp.isfile(many['overlay']) and osp.basename(many['overlay']) == f'{i:08d}.png'


def test_segmenter_takes_a_folder_in_name_order(segmenter, images):
    outs = segmenter(images['folder'], batch_size=8)
    assert [o['pred'].shape for o in outs] == SIZES
    with pytest.raises(ValueError, match='out_dir'):
        segmenter(images['paths'][:2], out_file='x.png')
