"""Bad images -> replaced and counted under the reason of the row (also inside dataloader
workers), or decoded correctly: pixel cap, 16-bit PNGs, EXIF-consistent bucketing sizes."""
import json
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image
from torch.utils.data import DataLoader

from fgclip2_mm.datasets import BadRecordError, FGCLIP2FineHARDDataset, FGCLIP2LoadImage
from fgclip2_mm.datasets.transforms.loading import DEFAULT_MAX_PIXELS, ImageTooLargeError

LOAD = [dict(type='fgclip2_mm.FGCLIP2LoadImage')]


def _png_header(width: int, height: int) -> bytes:
    """A small valid-looking 8-bit grey PNG that declares ``width x height`` pixels (20 KB
    PNGs of 13000 x 13000 exist: flat images compress to nothing)."""
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack(
            '>I', zlib.crc32(kind + data) & 0xffffffff)
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 0,
                                                              0, 0, 0)) +
            chunk(b'IDAT', zlib.compress(b'\0' * 64)) + chunk(b'IEND', b''))


@pytest.fixture
def world(tmp_path):
    Image.new('RGB', (40, 30), 'red').save(tmp_path / 'good.png')
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
    Image.fromarray(noise).save(tmp_path / 'full.jpg')
    data = (tmp_path / 'full.jpg').read_bytes()
    (tmp_path / 'truncated.jpg').write_bytes(data[:len(data) // 3])
    (tmp_path / 'zero.jpg').write_bytes(b'')
    (tmp_path / 'text.jpg').write_text('this is not a JPEG')
    (tmp_path / 'huge.png').write_bytes(_png_header(13000, 13000))  # 169 M pixels
    (tmp_path / 'bomb.png').write_bytes(_png_header(20000, 20000))  # above PIL's own limit
    return tmp_path


# (image, expected load-time reason)
ROWS = [
    ('missing.png', 'missing_image'),
    ('zero.jpg', 'unreadable_image'),
    ('truncated.jpg', 'unreadable_image'),
    ('text.jpg', 'unreadable_image'),
    ('huge.png', 'too_large'),
    ('bomb.png', 'too_large'),
]


def _dataset(world, names, **kwargs):
    lines = [json.dumps({'f_path': n, 'short_caption': n, 'bbox_info': []}) for n in names]
    (world / 'ann.jsonl').write_text('\n'.join(lines) + '\n')
    return FGCLIP2FineHARDDataset(str(world / 'ann.jsonl'), data_root=str(world),
                                  pipeline=kwargs.pop('pipeline', LOAD), **kwargs)


@pytest.mark.parametrize('name, reason', ROWS, ids=[r[0] for r in ROWS])
def test_bad_image_is_replaced_and_counted(world, messages, name, reason):
    dataset = _dataset(world, ['good.png', name, 'full.jpg'])
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no DecompressionBombWarning (nor any other) leaks
        sample = dataset[1]
    assert sample['caption_short'] == 'full.jpg' and sample['img'].shape == (64, 64, 3)
    assert dataset.load_counts.totals() == {reason: 1}
    (warning, ) = [m for m in messages if 'replaced by sample' in m]
    assert f'{reason} at ' in warning and name in warning and 'record 1' in warning
    strict = _dataset(world, ['good.png', name], on_load_error='raise')
    with pytest.raises(BadRecordError, match=f'record 1: {reason}: .*{name}'):
        strict[1]


def test_pixel_cap_is_configurable_and_read_from_the_header(world):
    assert DEFAULT_MAX_PIXELS == 89_478_485  # PIL's Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageTooLargeError, match=r'40 x 30 = 1200 pixels, more than '
                                                 r'max_pixels=1000'):
        FGCLIP2LoadImage(max_pixels=1000)(dict(img_path=str(world / 'good.png')))
    assert FGCLIP2LoadImage(max_pixels=1200)(dict(img_path=str(world / 'good.png')))[
        'img'].shape == (30, 40, 3)
    small = _dataset(world, ['full.jpg', 'good.png'],
                     pipeline=[dict(type='fgclip2_mm.FGCLIP2LoadImage', max_pixels=1500)])
    assert small[0]['caption_short'] == 'good.png'  # 64 x 64 = 4096 > 1500: replaced
    assert small.load_counts.totals() == {'too_large': 1}
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match='max_pixels must be None or a positive int'):
            FGCLIP2LoadImage(max_pixels=bad)


def test_bucketing_size_pass_counts_too_large_without_warnings(world):
    dataset = _dataset(world, ['good.png', 'huge.png', 'text.jpg'], cache_index=False)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        sizes = dataset.get_image_sizes()
    assert sizes.tolist() == [[30, 40], [0, 0], [0, 0]]
    assert dataset.counter.counts == {'too_large': 1, 'unreadable_image': 1}


@pytest.mark.parametrize('mode, dtype, top', [('I;16', np.uint16, 65535),
                                              ('L', np.uint8, 255)])
def test_16_bit_png_is_scaled_to_8_bits(tmp_path, mode, dtype, top):
    ramp = np.linspace(0, top, 64 * 64).round().astype(dtype).reshape(64, 64)
    Image.fromarray(ramp).save(tmp_path / 'ramp.png')
    assert Image.open(tmp_path / 'ramp.png').mode == mode
    img = FGCLIP2LoadImage()(dict(img_path=str(tmp_path / 'ramp.png')))['img']
    expected = np.round(ramp.astype(np.float64) * 255 / top).astype(np.uint8)
    assert img.dtype == np.uint8 and img.shape == (64, 64, 3)
    np.testing.assert_array_equal(img, np.repeat(expected[..., None], 3, axis=2))
    assert img.min() == 0 and img.max() == 255 and len(np.unique(img)) == 256


def test_32_bit_and_float_images_are_refused_with_the_mode(tmp_path):
    Image.fromarray(np.zeros((8, 8), np.float32)).save(tmp_path / 'float.tiff')
    with pytest.raises(OSError, match=r'float.tiff.*float pixels \(PIL mode F\)'):
        FGCLIP2LoadImage()(dict(img_path=str(tmp_path / 'float.tiff')))


@pytest.mark.parametrize('exif_transpose', [False, True])
@pytest.mark.parametrize('orientation', [1, 3, 6, 8])
def test_bucketing_size_matches_the_loaded_image(tmp_path, exif_transpose, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.new('RGB', (48, 20), 'red').save(tmp_path / 'rot.jpg', exif=exif.tobytes())
    (tmp_path / 'ann.jsonl').write_text(json.dumps({'f_path': 'rot.jpg', 'short_caption': 'a',
                                                    'bbox_info': []}) + '\n')
    pipeline = [dict(type='fgclip2_mm.FGCLIP2LoadImage', exif_transpose=exif_transpose)]
    dataset = FGCLIP2FineHARDDataset(str(tmp_path / 'ann.jsonl'), data_root=str(tmp_path),
                                     pipeline=pipeline)
    loaded = dataset[0]['img'].shape[:2]
    assert tuple(dataset.get_image_sizes()[0]) == loaded
    swapped = exif_transpose and orientation in (6, 8)
    assert loaded == ((48, 20) if swapped else (20, 48))


def test_worker_side_replacement_is_counted_in_the_main_process(world):
    names = ['good.png', 'missing.png', 'text.jpg', 'huge.png', 'full.jpg', './good.png']
    dataset = _dataset(world, names)
    loader = DataLoader(dataset, batch_size=2, num_workers=2, collate_fn=list,
                        multiprocessing_context='fork')
    captions = [s['caption_short'] for batch in loader for s in batch]
    assert captions == ['good.png', 'full.jpg', 'full.jpg', 'full.jpg', 'full.jpg',
                        './good.png']
    # per failed load: sample 1 tries 1, 2, 3; sample 2 tries 2, 3; sample 3 tries 3
    assert dataset.load_counts.totals() == {'missing_image': 1, 'unreadable_image': 2,
                                            'too_large': 3}
