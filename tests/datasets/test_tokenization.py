"""FGCLIP2Tokenizer and FGCLIP2Tokenize on a tiny Gemma-layout tokenizer built offline."""
import copy
import json
import os.path as osp
import pickle

import pytest
import torch

pytest.importorskip('transformers')
tokenizers = pytest.importorskip('tokenizers')

from fgclip2_mm.datasets import FGCLIP2Tokenizer  # noqa: E402
from fgclip2_mm.datasets.transforms import FGCLIP2Tokenize  # noqa: E402

PAD, EOS, BOS, UNK = 0, 1, 2, 3
CORPUS = [
    'a photo of a cat', 'a red car on the road', 'the dog is running on grass',
    'a small blue bird', '一只猫在桌子上', '红色的汽车'
] * 20


def build_tiny_tokenizer(folder: str) -> str:
    """Gemma layout: <pad>=0, <eos>=1, <bos>=2, <unk>=3, byte fallback, BOS prepended.

    ``tokenizer_config.json`` asks for LEFT padding on purpose (as Gemma does).
    """
    from tokenizers import decoders, models, normalizers, pre_tokenizers, processors, trainers
    tok = tokenizers.Tokenizer(models.BPE(byte_fallback=True, unk_token='<unk>'))
    tok.normalizer = normalizers.Replace(' ', '▁')
    tok.pre_tokenizer = pre_tokenizers.Split('▁', behavior='merged_with_next')
    tok.decoder = decoders.Sequence(
        [decoders.Replace('▁', ' '),
         decoders.ByteFallback(),
         decoders.Fuse()])
    specials = ['<pad>', '<eos>', '<bos>', '<unk>'] + [f'<0x{i:02X}>' for i in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials, show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single='<bos> $A', pair='<bos> $A $B', special_tokens=[('<bos>', BOS)])
    tok.save(osp.join(folder, 'tokenizer.json'))
    config = dict(
        tokenizer_class='GemmaTokenizer',
        padding_side='left',
        pad_token='<pad>',
        eos_token='<eos>',
        bos_token='<bos>',
        unk_token='<unk>',
        add_bos_token=True,
        add_eos_token=False,
        model_max_length=10**6)
    with open(osp.join(folder, 'tokenizer_config.json'), 'w') as f:
        json.dump(config, f)
    return folder


@pytest.fixture(scope='module')
def tok_dir(tmp_path_factory):
    return build_tiny_tokenizer(str(tmp_path_factory.mktemp('tiny_gemma')))


@pytest.fixture(scope='module')
def tok(tok_dir):
    return FGCLIP2Tokenizer(tok_dir)


def test_fixture_really_pads_left(tok_dir):
    from transformers import AutoTokenizer
    raw = AutoTokenizer.from_pretrained(tok_dir, local_files_only=True)
    assert raw.padding_side == 'left'
    ids = raw(['a cat'], padding='max_length', max_length=8)['input_ids'][0]
    assert ids[0] == PAD and ids[-1] != PAD


def test_ids_shapes_and_right_padding(tok):
    ids = tok(['a photo of a cat', 'a red car'])
    assert ids.shape == (2, 64) and ids.dtype == torch.long
    assert (ids[:, 0] == BOS).all()  # the post-processor's BOS, no EOS
    assert (ids[:, -1] == PAD).all()  # last position (pooled) is a pad token
    assert not (ids == EOS).any() and not (ids == UNK).any()
    lengths = (ids != PAD).sum(1)
    for row, n in zip(ids, lengths):
        assert (row[:n] != PAD).all() and (row[n:] == PAD).all()
    assert tok('a cat', walk_type='box').shape == (1, 64)
    assert tok('a cat', walk_type='long').shape == (1, 196)
    assert tok.max_length('long') == 196 and tok.max_length('box') == 64
    assert tok.pad_token_id == PAD and tok.vocab_size >= 260


def test_left_padding_option(tok_dir, tok):
    left = FGCLIP2Tokenizer(tok_dir, padding_side='left')('a photo of a cat')[0]
    right = tok('a photo of a cat')[0]
    n = int((right != PAD).sum())
    assert (left[:64 - n] == PAD).all() and torch.equal(left[64 - n:], right[:n])
    with pytest.raises(ValueError, match='padding_side'):
        FGCLIP2Tokenizer(tok_dir, padding_side='middle')


def test_lowercase(tok_dir, tok):
    assert torch.equal(tok('A Photo OF a CAT'), tok('a photo of a cat'))
    cased = FGCLIP2Tokenizer(tok_dir, lowercase=False)
    assert not torch.equal(cased('A Photo OF a CAT'), cased('a photo of a cat'))


def test_chinese_unaffected_by_lowercase(tok_dir, tok):
    cased = FGCLIP2Tokenizer(tok_dir, lowercase=False)
    for text in ('一只猫在桌子上', '一只红色的汽车 A CAR'):
        assert torch.equal(tok(text), cased(text.lower()))
    assert torch.equal(tok('一只猫在桌子上'), cased('一只猫在桌子上'))
    ids = tok('狗在跑')[0]  # 狗 and 跑 are not in the corpus: byte fallback, never <unk>
    assert not (ids == UNK).any() and (ids != PAD).sum() >= 1 + 3 * 2


def test_truncation_on_and_off(tok_dir, tok):
    long_text = ' '.join(['the dog is running on grass'] * 40)
    ids = tok(['a cat', long_text])
    assert ids.shape == (2, 64) and ids[1, 0] == BOS and (ids[1] != PAD).all()
    assert tok(long_text, 'long').shape == (1, 196)
    strict = FGCLIP2Tokenizer(tok_dir, truncation=False)
    assert torch.equal(strict('a cat'), tok('a cat'))
    with pytest.raises(ValueError, match=r'text 1 has \d+ tokens.*short walk length 64'):
        strict(['a cat', long_text])
    with pytest.raises(ValueError, match='long walk length 196'):
        strict(long_text, 'long')


def test_walk_type_and_input_validation(tok):
    with pytest.raises(ValueError, match="walk_type must be one of \\('short', 'box', 'long'\\)"):
        tok('a cat', walk_type='region')
    with pytest.raises(TypeError, match='text 1'):
        tok(['a cat', 3])
    assert tok([]).shape == (0, 64)


def test_missing_folder(tmp_path):
    missing = tmp_path / 'no_such_tokenizer'
    with pytest.raises(FileNotFoundError, match='no_such_tokenizer'):
        FGCLIP2Tokenizer(str(missing))
    with pytest.raises(ValueError, match='short_length'):
        FGCLIP2Tokenizer(str(tmp_path), short_length=0)


def test_tokenize_transform(tok_dir, tok):
    transform = FGCLIP2Tokenize(
        tokenizer=dict(folder=tok_dir),
        keys=dict(
            short_caption=('text_short', 'short'),
            caption=('text_long', 'long'),
            regions=('text_box', 'box')))
    results = transform(
        dict(
            short_caption='A photo of a CAT',
            caption='a red car',
            regions=['a cat', 'a red car', 'a dog']))
    assert torch.equal(results['text_short'], tok('a photo of a cat')[0])
    assert results['text_short'].shape == (64, ) and results['text_long'].shape == (196, )
    assert results['text_box'].shape == (3, 64) and results['text_box'].dtype == torch.long
    empty = transform(dict(short_caption='a', caption='b', regions=[]))
    assert empty['text_box'].shape == (0, 64)
    with pytest.raises(KeyError, match='caption'):
        transform(dict(short_caption='a cat'))
    lenient = FGCLIP2Tokenize(
        tokenizer=dict(folder=tok_dir),
        allow_missing=True,
        keys=dict(caption=('text_long', 'long')))
    assert 'text_long' not in lenient(dict(short_caption='a'))
    with pytest.raises(TypeError, match='caption'):
        lenient(dict(caption=3))


def test_tokenize_transform_is_lazy_and_pickles_without_tokenizer(tok_dir):
    transform = FGCLIP2Tokenize(
        tokenizer=dict(folder=tok_dir, padding_side='left'), keys=dict(caption=('ids', 'short')))
    assert transform._tokenizer is None  # nothing built in __init__
    first = transform(dict(caption='a cat'))['ids']
    built = transform._tokenizer
    assert built is not None and first[0] == PAD  # the tokenizer kwargs are honoured
    clone = pickle.loads(pickle.dumps(transform))
    assert clone._tokenizer is None and transform._tokenizer is built
    assert torch.equal(clone(dict(caption='a cat'))['ids'], first)
    transform._pid = -1  # as if forked: rebuilt once in the new process
    transform(dict(caption='a dog'))  # not memoised: needs the (rebuilt) tokenizer
    assert transform._tokenizer is not built


def test_tokenize_transform_validation(tok_dir):
    with pytest.raises(ValueError, match='folder'):
        FGCLIP2Tokenize(tokenizer=dict(), keys=dict(a=('b', 'short')))
    with pytest.raises(FileNotFoundError, match='nowhere_tok'):  # checked before the workers
        FGCLIP2Tokenize(tokenizer=dict(folder='/nowhere_tok'), keys=dict(a=('b', 'short')))
    with pytest.raises(ValueError, match='walk_type'):
        FGCLIP2Tokenize(tokenizer=dict(folder=tok_dir), keys=dict(a=('b', 'huge')))
    with pytest.raises(ValueError, match='pair'):
        FGCLIP2Tokenize(tokenizer=dict(folder=tok_dir), keys=dict(a='b'))
    cfg = dict(folder=tok_dir)
    FGCLIP2Tokenize(tokenizer=cfg, keys=dict(a=('b', 'short')))
    assert cfg == dict(folder=tok_dir)  # not mutated


def test_tokenize_builds_through_registry(tok_dir):
    from mmengine.dataset import Compose
    pipeline = Compose([
        dict(
            type='fgclip2_mm.FGCLIP2Tokenize',
            tokenizer=dict(folder=tok_dir),
            keys=dict(caption=('text_short', 'short')))
    ])
    assert pipeline(dict(caption='a cat'))['text_short'].shape == (64, )


def test_tokenize_memo_gives_the_uncached_ids(tok_dir):
    """The per-walk memo returns exactly what the tokenizer returns, for repeated texts,
    nested groups and a full memo."""
    keys = dict(caption=('ids', 'short'), boxes=('box_ids', 'box'), hard=('hard_ids', 'box'))
    sample = dict(caption='a red circle', boxes=['red circle', 'blue square', 'red circle'],
                  hard=[['red circle', 'blue circle'], ['blue square', 'red circle']])
    plain = FGCLIP2Tokenize(tokenizer=dict(folder=tok_dir), keys=keys, cache_size=0)
    expected = plain(copy.deepcopy(sample))
    for cache_size in (65536, 2):
        memo = FGCLIP2Tokenize(tokenizer=dict(folder=tok_dir), keys=keys, cache_size=cache_size)
        for _ in range(2):  # cold, then warm
            got = memo(copy.deepcopy(sample))
            for key in ('ids', 'box_ids', 'hard_ids'):
                assert torch.equal(got[key], expected[key]), (cache_size, key)
        assert sum(len(m) for m in memo._memo.values()) <= 2 * cache_size
    with pytest.raises(TypeError, match=r"results\['boxes'\]\[1\] must be a str"):
        plain(dict(caption='x', boxes=['a', 3], hard=[['a']]))
