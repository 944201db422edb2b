"""The OV segmentation protocols as the anchors set them: CAT-Seg's sliding + global test
inference, PAS-20b (59 prediction classes, the 39 added ones are background), the training-free
background thresholds of SCLIP and ClearCLIP per dataset, SCLIP's area threshold, the
vocabulary / label-map class-count guard, and no checkpoint selection on a test split."""
import glob
import os.path as osp
from types import SimpleNamespace

import pytest
import torch

pytest.importorskip('mmseg')

import fgclip2_mm  # noqa: E402,F401  (mmseg:: bases without pkg_resources)
from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmseg.registry import MODELS as MMSEG_MODELS  # noqa: E402

from fgclip2_mm.integrations.mmseg.segmentors import (  # noqa: E402
    FGCLIP2SegVocabularyCheckHook, check_label_space)
from fgclip2_mm.integrations.mmseg.segmentors.training_free import \
    drop_small_classes  # noqa: E402
from fgclip2_mm.integrations.mmseg.testing import (TINY_CATSEG_HEAD,  # noqa: E402
                                                   tiny_segmentor_cfg)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'projects', 'fgclip2_ovseg', 'configs')
VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair',
               'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant',
               'sheep', 'sofa', 'train', 'tvmonitor')


def build(cfg):
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MMSEG_MODELS.build(cfg)


def config(*parts):
    return Config.fromfile(osp.join(CONFIGS, *parts))


def test_catseg_configs_use_catseg_recipe():
    cfg = config('catseg', 'fgclip2-b16_catseg_4xb1-80k_coco-stuff171-384x384.py')
    model = cfg.model
    assert model.decode_head.type == 'fgclip2_mm.FGCLIP2CATSegHead'
    assert model.finetune == 'attention'
    assert model.templates.en == ['A photo of a {} in the scene']  # PROMPT_ENSEMBLE_TYPE single
    assert model.test_cfg == dict(mode='slide_global', resize=(640, 640), crop_size=(384, 384),
                                  stride=(256, 256))  # int(384 * (1 - 0.333)) = 256
    assert cfg.optim_wrapper.clip_grad.max_norm == 0.01
    assert [s.type for s in cfg.param_scheduler] == ['CosineAnnealingLR']  # no warm-up
    assert cfg.optim_wrapper.paramwise_cfg.lr_mult == {'clip.': 0.01}
    resize = [t for t in cfg.train_pipeline if t.type == 'Resize'][0]
    assert min(resize.scale) == 384 and cfg.crop_size == (384, 384)


def test_slide_global_averages_windows_and_the_global_view(ckpt):
    seg = build(tiny_segmentor_cfg(
        ckpt, trained=True, decode_head=dict(TINY_CATSEG_HEAD),
        test_cfg=dict(mode='slide_global', resize=(64, 64), crop_size=(40, 40),
                      stride=(24, 24))))
    assert seg.score_activation == 'sigmoid'
    calls = []

    def encode_decode(views, metas):  # the score of a pixel is its own (red) value
        calls.append(views.shape)
        return torch.logit(views[:, :1].expand(-1, 3, -1, -1), eps=1e-6)

    seg.encode_decode = encode_decode
    ramp = torch.linspace(0.1, 0.9, 48)
    image = torch.stack([ramp[:, None].expand(48, 48)] * 3)[None]  # (1, 3, 48, 48)
    out = torch.sigmoid(seg.inference(image, [dict()]))
    assert calls == [(5, 3, 40, 40)]  # 2 x 2 windows + the global view in one batch
    assert out.shape == (1, 3, 48, 48)
    assert torch.allclose(out, image, atol=0.02)  # every view agrees: the average is the image
    with pytest.raises(ValueError, match='at least'):
        build(tiny_segmentor_cfg(ckpt, test_cfg=dict(mode='slide_global', resize=(32, 32),
                                                     crop_size=(40, 40), stride=(24, 24))))


def test_pas20b_vocabulary_and_background_mapping(ckpt):
    cfg = config('catseg', 'fgclip2-b16_catseg_zero-shot_voc21.py')
    names, lut = cfg.model.vocabulary, cfg.model.class_to_label
    assert len(names) == 59 and tuple(names[:20]) == VOC_CLASSES  # datasets/voc20b.json
    assert 'sky' in names[20:] and 'background' not in names
    seg = build(tiny_segmentor_cfg(ckpt, trained=True, vocabulary=list(names),
                                   class_to_label=list(lut), decode_head=dict(TINY_CATSEG_HEAD)))
    assert seg.num_output_labels == 21
    logits = torch.full((1, 59, 1, 3), -5.0)
    logits[0, 3, 0, 0] = 5.0  # boat -> VOC label 4
    logits[0, 49, 0, 1] = 5.0  # sky (an added PC class) -> background 0
    logits[0, 19, 0, 2] = 5.0  # tvmonitor -> 20
    pred = seg.postprocess_result(logits)[0].pred_sem_seg.data
    assert pred.flatten().tolist() == [4, 0, 20]
    with pytest.raises(ValueError, match='class_to_label'):
        seg.set_vocabulary(list(VOC_CLASSES))


@pytest.mark.parametrize('name,sclip,clearclip', [('voc21', 0.1, 0.5), ('context60', 0.1, 0.15),
                                                  ('coco-object', 0.1, 0.4)])
def test_training_free_thresholds_per_dataset(name, sclip, clearclip):
    base = config('training_free', f'fgclip2-b16_training-free_{name}.py').model
    clear = config('training_free', f'fgclip2-b16_training-free_{name}-clearclip-thd.py').model
    assert (base.prob_thd, clear.prob_thd, base.bg_idx) == (sclip, clearclip, 0)
    assert base.get('area_thd') == (0.1 if name == 'voc21' else None)  # SCLIP cfg_voc21.py
    assert clear.get('area_thd') is None
    for other in ('voc20', 'context59', 'ade20k-150'):  # no background: no threshold
        cfg = config('training_free', f'fgclip2-b16_training-free_{other}.py')
        assert cfg.model.prob_thd == 0.0


def test_area_threshold_drops_small_foreground_classes():
    probs = torch.zeros(3, 10, 10)
    probs[0] = 0.5  # background everywhere except:
    probs[1, :, :6] = 0.9  # class 1: 60 pixels
    probs[2, 0, 6:] = 0.9  # class 2: 4 pixels, 4 / 64 of the foreground
    out = drop_small_classes(probs, 0.1, bg_idx=0)
    assert out.argmax(0).unique().tolist() == [0, 1]
    assert torch.equal(drop_small_classes(probs, 0.05, 0), probs)


def test_vocabulary_check_raises_with_both_lists(ckpt):
    seg = build(tiny_segmentor_cfg(ckpt, vocabulary=['a', 'b', 'c']))
    loader = SimpleNamespace(dataset=SimpleNamespace(metainfo=dict(classes=('x', 'y'))))
    runner = SimpleNamespace(model=seg, val_loop=SimpleNamespace(dataloader=loader),
                             test_loop=SimpleNamespace(dataloader=loader))
    hook = FGCLIP2SegVocabularyCheckHook()
    with pytest.raises(ValueError, match=r"3 labels.*2 classes.*\['a', 'b', 'c'\].*'x', 'y'"):
        hook.before_test(runner)
    with pytest.raises(ValueError, match='no "classes"'):
        check_label_space(2, {}, ['a', 'b'], 'val')
    seg.set_vocabulary(['p', 'q'])
    hook.before_val(runner)  # equal counts pass
    runner.model = torch.nn.Linear(1, 1)  # another model sharing the runtime: left alone
    hook.before_test(runner)


def test_no_checkpoint_selection_on_a_test_split():
    leaves = [c for c in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
              if '_base_' not in c]
    train = config('catseg', 'fgclip2-b16_catseg_4xb1-80k_coco-stuff171-384x384.py')
    last = f'iter_{train.train_cfg.max_iters}.pth'
    for path in leaves:
        cfg = Config.fromfile(path)
        checkpoint = cfg.get('default_hooks', {}).get('checkpoint') or {}
        assert not checkpoint.get('save_best'), path  # CAT-Seg evaluates model_final.pth
        if 'zero-shot' in path:
            assert cfg.load_from.endswith(last), path
