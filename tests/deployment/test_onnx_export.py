"""ONNX export with a runtime vocabulary (tools/deployment/export_onnx.py and
fgclip2_mm.deployment): onnxruntime on CPU against the PyTorch model, on a tiny random
checkpoint folder in our layout with the synthetic world's bilingual tokenizer."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

pytest.importorskip('onnxruntime')
pytest.importorskip('onnxscript')

from fgclip2_mm.testing import load_script, synthetic_world  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
EXPORT = osp.join(ROOT, 'tools', 'deployment', 'export_onnx.py')
ATOL = 1e-4  # fp32, onnxruntime CPU kernels vs torch (measured differences are ~5e-6)
VOCAB = ['red circle', '红色圆形', 'a blue striped square', '蓝色的正方形', 'Green STAR']
# Image sizes (H, W) and patch budgets: two batches with different patch counts, each with
# padded images (aspect ratios differ within a batch).
BATCHES = ([(40, 90), (64, 64), (20, 100)], 16), ([(70, 50), (33, 120), (70, 70)], 48)


def _main(script, *args):
    module = load_script(script)
    try:
        return module.main([str(a) for a in args])
    except SystemExit as exc:  # argparse errors
        return exc.code


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    from fgclip2_mm.apis import load_fgclip2, save_fgclip2
    from fgclip2_mm.testing import write_tiny_checkpoint
    tmp = tmp_path_factory.mktemp('onnx')
    world = synthetic_world(str(tmp), num_train=2, num_val=2)
    folder = write_tiny_checkpoint(str(tmp / 'ckpt'), osp.join(world, 'tokenizer'))
    model = load_fgclip2(folder)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():  # nothing at its initial constant, so a wrong mapping shows
        for param in model.parameters():
            param.add_(torch.randn(param.shape, generator=gen) * 0.05)
    save_fgclip2(model, folder)
    assert _main(EXPORT, folder, tmp / 'onnx', '--walks', 'short', 'box', 'long') == 0
    return model.eval(), folder, str(tmp / 'onnx')


def _images(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in sizes]


def test_export_folder_layout(exported):
    _, _, out = exported
    meta = json.load(open(osp.join(out, 'fgclip2_onnx.json')))
    assert meta['text_encoders']['long']['length'] == 196
    for name in ('image_encoder.onnx', 'text_encoder_short.onnx', 'text_encoder_box.onnx',
                 'text_encoder_long.onnx', 'tokenizer.json'):
        assert osp.isfile(osp.join(out, name)), name
    import onnx
    graph = onnx.load(osp.join(out, 'image_encoder.onnx')).graph
    dims = [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
            for i in graph.input]
    assert isinstance(dims[0][1], str) and dims[0][1] == dims[1][1]  # dynamic patch count


@pytest.mark.parametrize('sizes, budget', BATCHES)
def test_image_encoder_matches_pytorch(exported, sizes, budget):
    from fgclip2_mm.apis import prepare_images
    from fgclip2_mm.deployment import FGCLIP2OnnxModel
    model, _, out = exported
    runtime = FGCLIP2OnnxModel(out)
    images = _images(sizes, seed=budget)
    inputs, orig = runtime.preprocess(images, budget)
    assert inputs['pixel_attention_mask'].min() == 0  # padded
    ref_in = prepare_images(images, max_num_patches=budget, patch_size=16)
    np.testing.assert_array_equal(inputs['pixel_values'], ref_in['pixel_values'].numpy())
    np.testing.assert_array_equal(inputs['spatial_shapes'], ref_in['spatial_shapes'].numpy())
    boxes = [[[2, 3, w - 5, h - 1], [0, 0, w / 2, h / 3]] for h, w in orig]
    boxes[-1] = boxes[-1][:1]  # a different number of boxes per image
    got = runtime.encode_images(images, boxes, budget, normalize=False)
    tensors = {k: torch.as_tensor(v) for k, v in inputs.items()}
    with torch.no_grad():
        ref_img = model.get_image_features(**tensors)
        ref_dense = model.get_image_dense_feature(**tensors)
        ref_regions = model.get_image_region_features(**tensors, image_sizes=orig,
                                                      region_infos=boxes)
    np.testing.assert_allclose(got['image_embeds'], ref_img.numpy(), rtol=0, atol=ATOL)
    for i, (h, w) in enumerate(inputs['spatial_shapes']):
        np.testing.assert_allclose(got['dense_features'][i],
                                   ref_dense[i, :h * w].reshape(h, w, -1).numpy(), rtol=0,
                                   atol=ATOL)
        np.testing.assert_allclose(got['region_features'][i], ref_regions[i].numpy(), rtol=0,
                                   atol=ATOL)


@pytest.mark.parametrize('walk', ['short', 'box', 'long'])
def test_bilingual_vocabulary_matches_pytorch(exported, walk):
    from fgclip2_mm.datasets import FGCLIP2Tokenizer
    from fgclip2_mm.deployment import FGCLIP2OnnxModel
    model, folder, out = exported
    runtime = FGCLIP2OnnxModel(out)
    ids = runtime.tokenize(VOCAB, walk)
    ref_ids = FGCLIP2Tokenizer(folder)(VOCAB, walk)
    np.testing.assert_array_equal(ids, ref_ids.numpy())
    assert len({tuple(row) for row in ids}) == len(VOCAB)  # the words are in the vocabulary
    with torch.no_grad():
        ref = model.get_text_features(ref_ids, walk).numpy()
    np.testing.assert_allclose(runtime.encode_texts(VOCAB, walk, normalize=False), ref,
                               rtol=0, atol=ATOL)


def test_scores_rank_like_pytorch(exported):
    from fgclip2_mm.deployment import FGCLIP2OnnxModel
    model, _, out = exported
    runtime = FGCLIP2OnnxModel(out)
    images = _images([(64, 80), (30, 30)], seed=3)
    got = runtime.encode_images(images, [[[0, 0, 40, 40]], [[5, 5, 25, 25]]], 32)
    texts = runtime.encode_texts(VOCAB, 'box')
    probs = runtime.classify(np.concatenate(got['region_features']), texts)
    np.testing.assert_allclose(probs.sum(-1), 1, atol=1e-6)
    cos = np.concatenate(got['region_features']) @ texts.T
    assert (probs.argmax(-1) == cos.argmax(-1)).all()
    match = runtime.match_probs(got['image_embeds'], runtime.encode_texts(VOCAB, 'short'))
    ref = model.calibrated_logits(torch.as_tensor(got['image_embeds']),
                                  torch.as_tensor(runtime.encode_texts(VOCAB, 'short')))
    np.testing.assert_allclose(match, ref.sigmoid().detach().numpy(), atol=1e-5)


RUN_WITHOUT_TORCH = r'''
import sys
for name in ('torch', 'transformers', 'mmengine'):
    sys.modules[name] = None  # any import of them raises ImportError
import numpy as np
from fgclip2_mm.deployment import FGCLIP2OnnxModel
model = FGCLIP2OnnxModel(sys.argv[1])
rng = np.random.default_rng(0)
out = model.encode_images([rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)],
                          [[[1, 2, 30, 40]]], 16)
texts = model.encode_texts(sys.argv[2:], 'box')
np.save(sys.argv[1] + '/../no_torch.npy', model.classify(out['region_features'][0], texts))
'''


def test_runtime_needs_no_torch(exported):
    from fgclip2_mm.deployment import FGCLIP2OnnxModel
    _, _, out = exported
    proc = subprocess.run([sys.executable, '-c', RUN_WITHOUT_TORCH, out, *VOCAB],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0, proc.stderr[-3000:]
    runtime = FGCLIP2OnnxModel(out)
    rng = np.random.default_rng(0)
    got = runtime.encode_images([rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)],
                                [[[1, 2, 30, 40]]], 16)
    ref = runtime.classify(got['region_features'][0], runtime.encode_texts(VOCAB, 'box'))
    np.testing.assert_allclose(np.load(osp.join(out, '..', 'no_torch.npy')), ref, atol=1e-6)


def test_bad_input_is_named(exported, tmp_path):
    from fgclip2_mm.deployment import FGCLIP2OnnxModel
    _, folder, out = exported
    runtime = FGCLIP2OnnxModel(out)
    image = _images([(40, 60)])
    with pytest.raises(ValueError, match='non-empty list of str'):
        runtime.encode_texts([], 'box')
    with pytest.raises(ValueError, match='text 1 must be a non-empty str'):
        runtime.encode_texts(['cat', ' '], 'box')
    with pytest.raises(ValueError, match=r'image 0, box 0: .* outside the 60 x 40 image'):
        runtime.encode_images(image, [[[10, 10, 61, 20]]])
    with pytest.raises(FileNotFoundError, match='image 0: file not found'):
        runtime.encode_images([str(tmp_path / 'nope.jpg')])
    (tmp_path / 'broken.jpg').write_bytes(b'not an image')
    with pytest.raises(ValueError, match='image 0: cannot read'):
        runtime.encode_images([str(tmp_path / 'broken.jpg')])
    with pytest.raises(FileNotFoundError, match='not an FG-CLIP 2 ONNX export'):
        FGCLIP2OnnxModel(str(tmp_path))
    assert _main(EXPORT, tmp_path / 'missing', tmp_path / 'o') == 2
    assert _main(EXPORT, folder, folder, '--overwrite') == 2  # dst == src
    assert _main(EXPORT, folder, tmp_path / 'o', '--walks', 'middle') == 2
