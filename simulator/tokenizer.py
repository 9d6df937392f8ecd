"""A word-level tokenizer over the grammar's words, with BOS, EOS and PAD ids.

>>> tok = Tokenizer()
>>> ids = tok.encode("the happy dog sleeps.")
>>> tok.decode(ids)
'the happy dog sleeps.'
>>> tok.bos_id, tok.eos_id, tok.pad_id, tok.vocab_size
(1, 2, 0, 60)
"""

from __future__ import annotations

from collections.abc import Sequence

from simulator.errors import SimulatorError
from simulator.grammar import POSITIVE, WORDS

__all__ = ["SPECIALS", "Tokenizer"]

SPECIALS = ("<pad>", "<bos>", "<eos>")
"""Special tokens, at ids 0, 1, 2; the words of the grammar follow."""


class Tokenizer:
    """Maps words to ids and back; the vocabulary is fixed by the grammar."""

    def __init__(self) -> None:
        self.vocab: tuple[str, ...] = SPECIALS + WORDS
        self._id = {w: i for i, w in enumerate(self.vocab)}

    @property
    def vocab_size(self) -> int:
        """Number of ids, specials included."""
        return len(self.vocab)

    @property
    def pad_id(self) -> int:
        """Id of ``<pad>``."""
        return self._id["<pad>"]

    @property
    def bos_id(self) -> int:
        """Id of ``<bos>``, the start of every sequence (and the PPO query)."""
        return self._id["<bos>"]

    @property
    def eos_id(self) -> int:
        """Id of ``<eos>``."""
        return self._id["<eos>"]

    @property
    def special_ids(self) -> tuple[int, ...]:
        """Ids that a policy never samples (masked out of its distribution)."""
        return tuple(self._id[s] for s in SPECIALS)

    @property
    def positive_ids(self) -> tuple[int, ...]:
        """Ids of the positive adjectives."""
        return tuple(self._id[w] for w in POSITIVE)

    def words(self, text: str) -> list[str]:
        """Split text into words, ``"."`` being a word of its own.

        >>> Tokenizer().words("the dog sleeps. a cat")
        ['the', 'dog', 'sleeps', '.', 'a', 'cat']
        """
        return text.replace(".", " . ").split()

    def encode(self, text: str) -> list[int]:
        """Ids of the words of ``text``; an unknown word is a :class:`SimulatorError`."""
        try:
            return [self._id[w] for w in self.words(text)]
        except KeyError as err:
            raise SimulatorError(f"word {err.args[0]!r} is not in the vocabulary") from None

    def tokens(self, ids: Sequence[int]) -> list[str]:
        """The token string of each id."""
        return [self.vocab[i] for i in ids]

    def decode(self, ids: Sequence[int]) -> str:
        """Readable text: words joined by spaces, with ``"."`` attached to its word."""
        return " ".join(self.tokens(ids)).replace(" .", ".")
