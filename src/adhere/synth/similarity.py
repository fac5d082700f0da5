"""Near-duplicate detection for data: ROUGE-L (Self-Instruct's filter) and MinHash LSH (datasketch).

* ``RougeL``: the ROUGE-L F1 of ``rouge_score`` (Google's package, which Self-Instruct uses,
  no stemming), computed with ``rapidfuzz``'s C++ longest-common-subsequence over word ids, so a
  new text is compared with thousands at once. Tests check it equals ``rouge_score``.
* ``near_duplicates``: MinHash signatures of word shingles in a ``datasketch`` LSH index; a
  candidate the index returns counts as a duplicate only if its estimated Jaccard similarity
  reaches the threshold.

Both need the ``data`` extra: ``pip install 'adhere[data]'``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from adhere.errors import InputError, MissingExtraError

_TOKEN = re.compile(r"[a-z0-9]+")
_HINT = "pip install 'adhere[data]'"


def rouge_tokens(text: str) -> list[str]:
    """``rouge_score``'s tokenizer without a stemmer: lower-case, runs of [a-z0-9]."""
    return _TOKEN.findall(text.lower())


def _lcs_scorer():
    try:
        from rapidfuzz import process
        from rapidfuzz.distance import LCSseq
    except ImportError:
        raise MissingExtraError(f"ROUGE-L filtering needs rapidfuzz: {_HINT}") from None
    return process, LCSseq


class RougeL:
    """A growing pool of texts; ``max_f1(text)`` is the highest ROUGE-L F1 of ``text`` against it."""

    def __init__(self, texts: Iterable[str] = ()):
        self._process, self._lcs = _lcs_scorer()
        self._ids: dict[str, int] = {}
        self._pool: list[list[int]] = []
        for text in texts:
            self.add(text)

    def _encode(self, text: str) -> list[int]:
        return [self._ids.setdefault(token, len(self._ids)) for token in rouge_tokens(text)]

    def __len__(self) -> int:
        return len(self._pool)

    def add(self, text: str) -> None:
        self._pool.append(self._encode(text))

    def scores(self, text: str) -> list[float]:
        """ROUGE-L F1 of ``text`` against every pooled text, in pool order."""
        query = self._encode(text)
        if not self._pool:
            return []
        lcs = self._process.cdist([query], self._pool, scorer=self._lcs.similarity, workers=1)[0]
        return [2 * int(n) / (len(query) + len(ref)) if n else 0.0 for n, ref in zip(lcs, self._pool)]

    def max_f1(self, text: str) -> float:
        return max(self.scores(text), default=0.0)


def rouge_l(a: str, b: str) -> float:
    """ROUGE-L F1 of two texts."""
    return RougeL([b]).max_f1(a)


def shingles(text: str, size: int = 3) -> set[str]:
    words = rouge_tokens(text)
    if len(words) <= size:
        return {" ".join(words)}
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


class MinHashIndex:
    """MinHash signatures of word shingles in a datasketch LSH index. ``match(text)`` is the key
    of an added text whose estimated Jaccard similarity with ``text`` reaches the threshold."""

    def __init__(self, threshold: float = 0.8, *, num_perm: int = 128, shingle: int = 3):
        if not 0.0 < threshold <= 1.0:
            raise InputError(f"the near-duplicate threshold must be in (0, 1], got {threshold}")
        try:
            from datasketch import MinHash, MinHashLSH
        except ImportError:
            raise MissingExtraError(f"MinHash near-duplicate removal needs datasketch: {_HINT}") from None
        self._minhash = MinHash
        self.threshold, self.num_perm, self.shingle = threshold, num_perm, shingle
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self._signatures: dict[Any, Any] = {}

    def _signature(self, text: str) -> Any:
        signature = self._minhash(num_perm=self.num_perm, seed=1)
        signature.update_batch([s.encode("utf-8") for s in shingles(text, self.shingle)])
        return signature

    def match(self, text: str) -> Any:
        signature = self._signature(text)
        found = [k for k in self._lsh.query(signature) if self._signatures[k].jaccard(signature) >= self.threshold]
        return min(found) if found else None

    def add(self, key: Any, text: str) -> None:
        signature = self._signature(text)
        self._lsh.insert(key, signature)
        self._signatures[key] = signature


def near_duplicates(
    texts: Sequence[str],
    *,
    threshold: float = 0.8,
    num_perm: int = 128,
    shingle: int = 3,
    order: Sequence[int] | None = None,
) -> dict[int, int]:
    """``{index: index of the kept text it nearly duplicates}``. Texts are visited in ``order``
    (default: as given); the first of each group is kept, so put the best first."""
    index = MinHashIndex(threshold, num_perm=num_perm, shingle=shingle)
    duplicates: dict[int, int] = {}
    for position in order if order is not None else range(len(texts)):
        match = index.match(texts[position])
        if match is not None:
            duplicates[position] = match
        else:
            index.add(position, texts[position])
    return duplicates
