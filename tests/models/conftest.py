"""Fixtures for the model tests: a tiny random model and a tiny offline tokenizer."""
import json

import pytest
import torch

from fgclip2_mm.models import FGCLIP2
from .helpers import perturb_


@pytest.fixture
def tiny_model() -> FGCLIP2:
    torch.manual_seed(0)
    return perturb_(FGCLIP2(arch='tiny')).eval()


@pytest.fixture
def tiny_tokenizer_dir(tmp_path):
    """A word-level tokenizer folder in the Gemma layout (pad 0, eos 1, bos 2), offline."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    words = ['<pad>', '<eos>', '<bos>', '<unk>'] + \
        'a photo of the red blue cat dog car on grass 一只 猫 狗'.split()
    vocab = {w: i for i, w in enumerate(words)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token='<unk>'))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single='<bos> $A', special_tokens=[('<bos>', 2)])
    folder = tmp_path / 'tokenizer'
    folder.mkdir()
    tok.save(str(folder / 'tokenizer.json'))
    config = dict(
        tokenizer_class='PreTrainedTokenizerFast',
        pad_token='<pad>',
        eos_token='<eos>',
        bos_token='<bos>',
        unk_token='<unk>')
    (folder / 'tokenizer_config.json').write_text(json.dumps(config))
    return folder
