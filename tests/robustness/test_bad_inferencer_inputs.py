"""Bad input to both inferencers (``FGCLIP2OVDetInferencer``, ``FGCLIP2OVSegInferencer``):
one clear error naming the folder, file or array, raised before the model runs (issue 15).

Float arrays: mmdet 3.3 ``DetInferencer`` and mmseg 1.2 ``MMSegInferencer`` pass them on
unchanged (``LoadImageFromNDArray``: ``img.astype(np.float32)`` only when ``to_float32``;
the data preprocessor then normalises them as 0-255 values), so [0, 1] floats come out
nearly black there; ours refuse floats with the dtype and the conversion to write."""
import numpy as np
import pytest

pytest.importorskip('mmdet')
pytest.importorskip('mmseg')

from mmengine.config import Config  # noqa: E402
from PIL import Image  # noqa: E402

from fgclip2_mm.integrations.mmdet import FGCLIP2OVDetInferencer  # noqa: E402
from fgclip2_mm.integrations.mmdet.testing import tiny_inferencer_cfg  # noqa: E402
from fgclip2_mm.integrations.mmseg import FGCLIP2OVSegInferencer  # noqa: E402
from fgclip2_mm.integrations.mmseg.testing import tiny_segmentor_cfg  # noqa: E402


@pytest.fixture(scope='module')
def folder(image_files):
    """``image_files`` plus an empty folder, one with a README next to an image and one
    with a text file renamed ``.jpg`` after a good image."""
    (image_files / 'empty_dir').mkdir(exist_ok=True)
    for name, extra in (('with_readme', 'README.md'), ('with_fake', 'b_fake.jpg')):
        sub = image_files / name
        sub.mkdir(exist_ok=True)
        (sub / 'a.jpg').write_bytes((image_files / 'cat.jpg').read_bytes())
        (sub / extra).write_text('# not an image\n')
    return image_files


@pytest.fixture(scope='module')
def inferencers(tiny_ckpt):
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS
    det = FGCLIP2OVDetInferencer(Config(tiny_inferencer_cfg(tiny_ckpt, cache_dir=False)),
                                 texts='cat . car')
    with DefaultScope.overwrite_default_scope('mmseg'):
        seg = FGCLIP2OVSegInferencer(MODELS.build(tiny_segmentor_cfg(tiny_ckpt,
                                                                     patch_budget=32)))
    return dict(det=det, seg=seg)


def image(name):
    return lambda d: str(d / name)


# (id, which inferencers, input(folder), call kwargs, exception, message regex)
CASES = [
    ('empty-folder', 'det seg', image('empty_dir'), {}, ValueError,
     r"input folder '.*empty_dir' holds no image file"),
    ('empty-list', 'det seg', lambda d: [], {}, ValueError, r'no image given \(an empty list\)'),
    ('text-as-jpg', 'det seg', image('notes.jpg'), {}, ValueError,
     r"image 0 \('.*notes\.jpg'\): cannot read the file as an image"),
    ('fake-jpg-in-folder', 'det seg', image('with_fake'), {}, ValueError,
     r"image 1 \('.*with_fake/b_fake\.jpg'\): cannot read the file as an image"),
    ('zero-byte', 'det seg', lambda d: [str(d / 'cat.jpg'), d / 'empty.png'], {}, ValueError,
     r"image 1 \('.*empty\.png'\): cannot read the file as an image"),
    ('missing-file', 'det seg', image('nope.jpg'), {}, FileNotFoundError,
     r"image 0 \('.*nope\.jpg'\): image file not found"),
    ('truncated-jpg', 'det', image('cut.jpg'), {}, OSError,
     r"image 0 \('.*cut\.jpg'\): cannot decode the image file"),
    ('truncated-jpg', 'seg', image('cut.jpg'), {}, OSError,
     r"image 0: .*cannot decode image file '.*cut\.jpg'"),
    ('float01-array', 'det', lambda d: np.random.rand(32, 32, 3), {}, ValueError,
     r'image 0: float64 array; mmdet reads arrays as cv2.imread gives them \(uint8 BGR.*'
     r'\(img \* 255\)\.round\(\)\.astype\(np\.uint8\)'),
    ('float01-array', 'seg', lambda d: np.random.rand(32, 32, 3), {}, ValueError,
     r'image 0: float64 array; float arrays are ambiguous \(\[0, 1\] or \[0, 255\]\).*'
     r'\(img \* 255\)\.round\(\)\.astype\(np\.uint8\)'),
    ('float32-255-array', 'det seg',
     lambda d: [np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 200, np.float32)], {},
     ValueError, 'image 1: float32 array'),
    ('uint16-array', 'det', lambda d: np.zeros((8, 8, 3), np.uint16), {}, ValueError,
     'image 0: uint16 array; expected uint8 BGR'),
    ('uint16-array', 'seg', lambda d: np.zeros((8, 8, 3), np.uint16), {}, ValueError,
     'image 0: uint16 array; expected uint8 RGB'),
    ('rgba-array', 'det seg', lambda d: np.zeros((8, 8, 4), np.uint8), {}, ValueError,
     r'image 0: array of shape \(8, 8, 4\); expected \(H, W, 3\)'),
    ('not-an-image', 'det seg', lambda d: [str(d / 'cat.jpg'), 42], {}, TypeError,
     'image 1: expected .*got int'),
    ('batch-size-zero', 'det seg', image('cat.jpg'), dict(batch_size=0), ValueError,
     'batch_size must be a positive int, got 0'),
    ('out-file-for-a-list', 'seg', lambda d: [str(d / 'cat.jpg')] * 2, dict(out_file='x.png'),
     ValueError, 'out_file is for one image; pass out_dir='),
]
ROWS = [(f'{c[0]}-{which}', which, *c[2:]) for c in CASES for which in c[1].split()]


@pytest.mark.parametrize('which,source,kwargs,error,match', [r[1:] for r in ROWS],
                         ids=[r[0] for r in ROWS])
def test_bad_input_gets_a_clear_error(inferencers, folder, which, source, kwargs, error,
                                      match):
    with pytest.raises(error, match=match):
        inferencers[which](source(folder), **kwargs)


@pytest.mark.parametrize('which', ['det', 'seg'])
def test_errors_come_before_any_forward(inferencers, folder, monkeypatch, which):
    """A non-image as the last of 20 inputs stops the call before the model runs once."""
    model = inferencers[which].model
    calls = []
    real = model.test_step
    monkeypatch.setattr(model, 'test_step', lambda *a, **k: calls.append(1) or real(*a, **k))
    with pytest.raises(ValueError, match=r"image 20 \('.*notes\.jpg'\)"):
        inferencers[which]([str(folder / 'cat.jpg')] * 20 + [str(folder / 'notes.jpg')],
                           batch_size=4)
    assert not calls


@pytest.mark.parametrize('which', ['det', 'seg'])
def test_a_readme_next_to_the_images_is_skipped(inferencers, folder, which):
    """Folders are listed by image suffix (as mmdet's ``IMG_EXTENSIONS``): one result."""
    out = inferencers[which](folder / 'with_readme')
    results = out['predictions'] if which == 'det' else out
    assert len(results) == 1


def test_uint8_arrays_still_work(inferencers, folder):
    rgb = np.asarray(Image.open(folder / 'cat.jpg').convert('RGB'))
    seg = inferencers['seg'](rgb)
    assert seg['pred'].shape == (120, 200)
    grey = inferencers['seg'](rgb[..., 0])  # (H, W) grey, as the APIs take it
    assert grey['pred'].shape == (120, 200)
    det = inferencers['det'](rgb[..., ::-1].copy(), return_datasamples=True)
    assert det['predictions'][0].ori_shape == (120, 200)
