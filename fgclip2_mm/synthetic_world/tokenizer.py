"""A tiny Gemma-layout BPE tokenizer trained on the world's bilingual texts.

Layout (as in Gemma): ``<pad>`` = 0, ``<eos>`` = 1, ``<bos>`` = 2, ``<unk>`` = 3,
``<mask>`` = 4, byte-fallback tokens ``<0x00>``..``<0xFF>`` = 5..260, then the learned
pieces, then ``<unusedN>`` fillers up to a fixed vocabulary size (1024 by default), so
model configs can rely on one vocabulary size whatever the world size. Spaces become '▁'
in a normaliser and the decoder undoes it; BPE has byte fallback, so unseen characters
become bytes, never ``<unk>``; a post-processor prepends ``<bos>`` (no ``<eos>``).
Nothing is lower-cased here: callers lower-case English text.

Training splits the text into words first (at '▁', around punctuation, and, for Chinese,
which has no spaces, around the words of a given lexicon), so learned pieces never span
two words. The saved tokenizer has no pre-tokenizer (like Gemma): merges can only fire on
character pairs seen inside a word, which in practice reproduces the word segmentation.
"""
import json
import os
import os.path as osp
import re
from typing import Dict, Iterable, List, Sequence

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
from tokenizers import processors, trainers

SPECIAL_TOKENS = ('<pad>', '<eos>', '<bos>', '<unk>', '<mask>')
BYTE_TOKENS = tuple(f'<0x{i:02X}>' for i in range(256))
VOCAB_SIZE = 1024
MAX_PIECE_CHARS = 16
# AutoTokenizer class: GemmaTokenizer rebuilds the backend from our vocab and merges with
# the very same normaliser, byte fallback and decoder, and keeps our post-processor.
TOKENIZER_CLASS = 'GemmaTokenizer'
TOKENIZER_FILES = ('tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json')


def _learn_pieces(texts: Iterable[str], vocab_size: int, words: Sequence[str]) -> Dict:
    """Train a plain BPE on the texts and return its JSON model (vocab and merges)."""
    learner = Tokenizer(models.BPE(unk_token='<unk>'))
    learner.normalizer = normalizers.Replace(' ', '▁')
    splitters = [pre_tokenizers.Split(Regex('▁'), behavior='merged_with_next'),
                 pre_tokenizers.Split(Regex(r'\p{P}'), behavior='isolated')]
    if words:
        lexicon = '|'.join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))
        splitters.append(pre_tokenizers.Split(Regex(lexicon), behavior='isolated'))
    learner.pre_tokenizer = pre_tokenizers.Sequence(splitters)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                  special_tokens=[], max_token_length=MAX_PIECE_CHARS)
    learner.train_from_iterator(texts, trainer=trainer)
    return json.loads(learner.to_str())['model']


def build_tokenizer(texts: Iterable[str], vocab_size: int = VOCAB_SIZE,
                    words: Sequence[str] = ()) -> Tokenizer:
    """Train the Gemma-layout tokenizer.

    Args:
        texts (Iterable[str]): Training corpus, already lower-cased where wanted.
        vocab_size (int): Total vocabulary size, reached with ``<unusedN>`` fillers when
            fewer pieces are learned (it is exceeded only if the corpus alphabet alone does
            not fit). Defaults to 1024.
        words (Sequence[str]): Lexicon used to cut unspaced (Chinese) text into words
            during training. Defaults to none.

    Returns:
        tokenizers.Tokenizer: The tokenizer (unsaved).
    """
    fixed = SPECIAL_TOKENS + BYTE_TOKENS
    learned = _learn_pieces(texts, max(1, vocab_size - len(fixed)), words)
    vocab: Dict[str, int] = {token: i for i, token in enumerate(fixed)}
    for token, _ in sorted(learned['vocab'].items(), key=lambda item: item[1]):
        if token not in vocab:
            vocab[token] = len(vocab)
    for i in range(vocab_size - len(vocab)):  # unreachable by merges, like Gemma's
        vocab[f'<unused{i}>'] = len(vocab)
    merges = [tuple(m.split(' ')) if isinstance(m, str) else tuple(m)
              for m in learned['merges']]
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token='<unk>',
                                     fuse_unk=True, byte_fallback=True))
    tokenizer.normalizer = normalizers.Replace(' ', '▁')
    tokenizer.decoder = decoders.Sequence(
        [decoders.Replace('▁', ' '), decoders.ByteFallback(), decoders.Fuse()])
    bos = vocab['<bos>']
    tokenizer.post_processor = processors.TemplateProcessing(
        single='<bos>:0 $A:0', pair='<bos>:0 $A:0 <bos>:1 $B:1',
        special_tokens=[('<bos>', bos)])
    tokenizer.add_special_tokens(list(SPECIAL_TOKENS))
    return tokenizer


def _tokenizer_config(tokenizer: Tokenizer) -> Dict:
    decoder = {str(tokenizer.token_to_id(t)): {
        'content': t, 'lstrip': False, 'normalized': False, 'rstrip': False,
        'single_word': False, 'special': True} for t in SPECIAL_TOKENS}
    return {
        'tokenizer_class': TOKENIZER_CLASS,
        'added_tokens_decoder': decoder,
        'pad_token': '<pad>',
        'eos_token': '<eos>',
        'bos_token': '<bos>',
        'unk_token': '<unk>',
        'mask_token': '<mask>',
        'add_bos_token': True,
        'add_eos_token': False,
        'padding_side': 'right',
        'truncation_side': 'right',
        'clean_up_tokenization_spaces': False,
        'model_max_length': 196,
    }


def save_tokenizer(tokenizer: Tokenizer, folder: str) -> List[str]:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json``.

    Args:
        tokenizer (tokenizers.Tokenizer): Output of :func:`build_tokenizer`.
        folder (str): Target folder (created if needed).

    Returns:
        list[str]: Paths of the written files.
    """
    os.makedirs(folder, exist_ok=True)
    paths = [osp.join(folder, name) for name in TOKENIZER_FILES]
    tokenizer.save(paths[0], pretty=True)
    special_map = {'bos_token': '<bos>', 'eos_token': '<eos>', 'unk_token': '<unk>',
                   'pad_token': '<pad>', 'mask_token': '<mask>'}
    for path, content in ((paths[1], _tokenizer_config(tokenizer)), (paths[2], special_map)):
        with open(path, 'w', encoding='utf-8', newline='\n') as f:
            f.write(json.dumps(content, ensure_ascii=False, indent=2))
            f.write('\n')
    return paths
