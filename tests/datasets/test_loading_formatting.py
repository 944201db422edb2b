"""FGCLIP2LoadImage (clear errors naming the file), FGCLIP2PackInputs and the data sample."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from PIL import Image

from fgclip2_mm.datasets.transforms import (FGCLIP2LoadImage, FGCLIP2NaFlexPatchify,
                                            FGCLIP2PackInputs)
from fgclip2_mm.structures import FGCLIP2DataSample


def _save(path, array, **kwargs):
    Image.fromarray(array).save(str(path), **kwargs)
    return str(path)


def test_load_rgb_png(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (30, 50, 3), dtype=np.uint8)
    results = FGCLIP2LoadImage()(dict(img_path=_save(tmp_path / 'a.png', image)))
    np.testing.assert_array_equal(results['img'], image)  # RGB, not BGR
    assert results['img'].dtype == np.uint8
    assert results['img_shape'] == results['ori_shape'] == (30, 50)


def test_load_converts_grey_and_rgba(tmp_path):
    grey = np.arange(30 * 40, dtype=np.uint8).reshape(30, 40)
    img = FGCLIP2LoadImage()(dict(img_path=_save(tmp_path / 'g.png', grey)))['img']
    assert img.shape == (30, 40, 3) and (img == grey[..., None]).all()
    rgba = np.random.default_rng(1).integers(0, 256, (10, 12, 4), dtype=np.uint8)
    img = FGCLIP2LoadImage()(dict(img_path=_save(tmp_path / 'a.png', rgba)))['img']
    np.testing.assert_array_equal(img, rgba[..., :3])  # alpha dropped, as convert('RGB')


def test_load_exif_orientation(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    path = _save(tmp_path / 'r.jpg', np.zeros((20, 40, 3), np.uint8), exif=exif)
    assert FGCLIP2LoadImage()(dict(img_path=path))['img'].shape == (20, 40, 3)
    assert FGCLIP2LoadImage(exif_transpose=True)(dict(img_path=path))['img'].shape == (40, 20, 3)


def test_load_errors_name_the_file(tmp_path):
    missing = str(tmp_path / 'missing.jpg')
    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        FGCLIP2LoadImage()(dict(img_path=missing))
    not_image = tmp_path / 'notes.jpg'
    not_image.write_text('not an image')
    with pytest.raises(OSError, match='notes.jpg'):
        FGCLIP2LoadImage()(dict(img_path=str(not_image)))
    full = _save(tmp_path / 'full.jpg',
                 np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    data = open(full, 'rb').read()
    truncated = tmp_path / 'truncated.jpg'
    truncated.write_bytes(data[:len(data) // 2])
    with pytest.raises(OSError, match='truncated.jpg'):
        FGCLIP2LoadImage()(dict(img_path=str(truncated)))
    with pytest.raises(OSError, match='cannot read'):
        FGCLIP2LoadImage()(dict(img_path=str(tmp_path)))  # a directory
    with pytest.raises(KeyError, match='img_path'):
        FGCLIP2LoadImage()(dict(path=full))


def _patchified(**extra):
    image = np.random.default_rng(3).integers(0, 256, (48, 80, 3), dtype=np.uint8)
    return FGCLIP2NaFlexPatchify(max_num_patches=15)(dict(img=image, img_path='x.png', **extra))


def test_pack_inputs_and_metainfo():
    results = _patchified(
        sample_idx=7, text_short=torch.arange(64), text_long=np.arange(196), unrelated='dropped')
    packed = FGCLIP2PackInputs()(results)
    inputs, sample = packed['inputs'], packed['data_samples']
    assert isinstance(sample, FGCLIP2DataSample)
    assert inputs.dtype == torch.float32 and inputs.shape == (15, 768)
    assert torch.equal(inputs, torch.from_numpy(results['patches']))
    assert set(sample.metainfo) == {
        'sample_idx', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'spatial_shape',
        'num_patches_budget'
    }
    assert sample.spatial_shape == (3, 5) and sample.num_patches_budget == 15
    assert sample.text_short.dtype == torch.long and sample.text_long.shape == (196, )
    assert 'gt_instances' not in sample
    assert 'unrelated' not in sample


def test_pack_boxes_and_custom_keys():
    boxes = np.array([[0, 0, 80, 48], [8, 4, 40, 24]], np.float32)
    results = _patchified(gt_bboxes=boxes, text_box=torch.zeros(2, 64, dtype=torch.long))
    packed = FGCLIP2PackInputs(meta_keys=('img_path', ), text_keys=('text_box', ))(results)
    sample = packed['data_samples']
    assert set(sample.metainfo) == {'img_path', 'spatial_shape'}  # spatial_shape is forced
    assert sample.text_box.shape == (2, 64)
    assert torch.equal(sample.gt_instances.bboxes, torch.from_numpy(boxes))
    torch.testing.assert_close(sample.gt_instances.grid_bboxes,
                               torch.tensor([[0., 0., 5., 3.], [0.5, 0.25, 2.5, 1.5]]))


def test_pack_errors():
    with pytest.raises(KeyError, match='patches'):
        FGCLIP2PackInputs()(dict(spatial_shape=(1, 1)))
    results = _patchified()
    results['spatial_shape'] = (2, 2)
    with pytest.raises(ValueError, match='spatial_shape'):
        FGCLIP2PackInputs()(results)
    with pytest.raises(ValueError, match='meta_keys'):
        FGCLIP2PackInputs(meta_keys='img_path')


def test_data_sample_properties():
    sample = FGCLIP2DataSample(metainfo=dict(spatial_shape=(2, 3)))
    sample.text_short = torch.ones(64, dtype=torch.long)
    sample.text_long = torch.ones(196, dtype=torch.long)
    sample.gt_instances = InstanceData(bboxes=torch.zeros(1, 4))
    assert 'text_short' in sample and sample.text_long.shape == (196, )
    assert len(sample.gt_instances) == 1
    del sample.text_short
    assert 'text_short' not in sample
    with pytest.raises(AssertionError):  # mmengine's set_field type check
        sample.text_long = [1, 2]
