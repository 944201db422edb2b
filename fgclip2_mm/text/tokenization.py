"""``FGCLIP2Tokenizer``: the Gemma tokenizer of FG-CLIP 2, from a local folder only.

FG-CLIP 2 conventions (spec sections 1.3 and 10):

- Texts are lower-cased before tokenisation, in training and in evaluation. We do it in
  Python (``str.lower()`` per text, which leaves Chinese unchanged) because transformers 5.x
  ``AutoTokenizer`` ignores a lower-casing normaliser saved in ``tokenizer.json``.
- Every text is padded to a fixed length: 64 tokens for the short and box walks, 196 for the
  long walk (whose position table only works at exactly 196).
- The text tower pools the hidden state at the **last position** (SigLIP "sticky EOS"), so
  the padding side changes the embeddings. Gemma tokenizers default to left padding; we set
  the padding side explicitly on the HF tokenizer (default right, which puts a pad token at
  the last position of every text shorter than the length, as in training). Truncation
  keeps the beginning of the text (``truncation_side='right'``).
- Special tokens: whatever the tokenizer's post-processor adds. For Gemma that is a BOS at
  the start and no EOS, which is what the reference training code produced; we do not add
  or remove any. No attention mask is returned: training never used one (spec section 1.3).
"""
import os
from typing import List, Sequence, Union

import torch

WALK_TYPES = ('short', 'box', 'long')
PADDING_SIDES = ('left', 'right')


class FGCLIP2Tokenizer:
    """Tokenise texts into fixed-length id tensors for the three FG-CLIP 2 text walks.

    Args:
        folder (str): Local folder with the tokenizer files (``tokenizer.json`` and
            ``tokenizer_config.json``, or ``tokenizer.model``). Never downloaded: it is
            loaded with ``local_files_only=True``.
        lowercase (bool): Lower-case every text with ``str.lower()``. Defaults to True.
        padding_side (str): ``'right'`` (default) or ``'left'``; overrides the folder's.
        truncation (bool): Truncate texts longer than the walk's length. When False, such a
            text raises ``ValueError`` naming its index and token length.
        short_length (int): Length of the short and box walks. Defaults to 64.
        long_length (int): Length of the long walk. Defaults to 196.
    """

    def __init__(self,
                 folder: str,
                 lowercase: bool = True,
                 padding_side: str = 'right',
                 truncation: bool = True,
                 short_length: int = 64,
                 long_length: int = 196) -> None:
        if padding_side not in PADDING_SIDES:
            raise ValueError(f'padding_side must be one of {PADDING_SIDES}, got {padding_side!r}')
        for name, value in (('short_length', short_length), ('long_length', long_length)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f'{name} must be a positive int, got {value!r}')
        path = os.path.expanduser(os.fspath(folder))
        if not os.path.isdir(path):
            raise FileNotFoundError(
                f'FGCLIP2Tokenizer: tokenizer folder not found: {folder!r} (only local folders '
                f'are supported; the hub is never contacted)')
        from transformers import AutoTokenizer  # heavy import, kept out of module import
        self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self._tokenizer.padding_side = padding_side
        self._tokenizer.truncation_side = 'right'
        if self._tokenizer.pad_token_id is None:
            raise ValueError(f'FGCLIP2Tokenizer: the tokenizer in {folder!r} has no pad token')
        self.folder = str(folder)
        self.lowercase = bool(lowercase)
        self.padding_side = padding_side
        self.truncation = bool(truncation)
        self.short_length = short_length
        self.long_length = long_length

    @property
    def vocab_size(self) -> int:
        """int: Number of ids the tokenizer can emit (base vocabulary + added tokens)."""
        return len(self._tokenizer)

    @property
    def pad_token_id(self) -> int:
        """int: Id of the padding token (0 for Gemma)."""
        return int(self._tokenizer.pad_token_id)

    def max_length(self, walk_type: str = 'short') -> int:
        """Token length of a walk: ``short_length`` for short/box, ``long_length`` for long.

        Args:
            walk_type (str): One of :data:`WALK_TYPES`.

        Returns:
            int: The padded length.
        """
        if walk_type not in WALK_TYPES:
            raise ValueError(f'walk_type must be one of {WALK_TYPES}, got {walk_type!r}')
        return self.long_length if walk_type == 'long' else self.short_length

    def __call__(self, texts: Union[str, Sequence[str]], walk_type: str = 'short') -> torch.Tensor:
        """Tokenise texts.

        Args:
            texts (str | Sequence[str]): One text or a list of B texts.
            walk_type (str): ``'short'``, ``'box'`` (length ``short_length``) or ``'long'``
                (length ``long_length``).

        Returns:
            Tensor: int64 ids of shape (B, L) (B = 1 for a single string), padded with
            :attr:`pad_token_id` on the configured side.
        """
        length = self.max_length(walk_type)
        if isinstance(texts, str):
            texts = [texts]
        texts: List[str] = list(texts)
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f'text {index} must be a str, got {type(text).__name__}')
        if not texts:
            return torch.empty((0, length), dtype=torch.long)
        if self.lowercase:
            texts = [text.lower() for text in texts]
        encoded = self._tokenizer(
            texts,
            padding='max_length',
            max_length=length,
            truncation=self.truncation,
            return_attention_mask=False,
            return_token_type_ids=False)
        ids = encoded['input_ids']
        for index, row in enumerate(ids):
            if len(row) > length:
                raise ValueError(f'text {index} has {len(row)} tokens, more than the '
                                 f'{walk_type} walk length {length} (truncation=False)')
        return torch.tensor(ids, dtype=torch.long)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(folder={self.folder!r}, lowercase={self.lowercase}, '
                f'padding_side={self.padding_side!r}, truncation={self.truncation}, '
                f'short_length={self.short_length}, long_length={self.long_length})')
