"""Verifier-guided repair: the smallest deterministic edit that makes a response follow a constraint.

For many verifiable constraints a failing answer is one mechanical edit away from a passing one:
lowercase it, drop its commas, add the postscript, wrap it in quotes or JSON, regroup its
sentences into the asked number of paragraphs, sections or bullets, cut it below a length. Each
constraint class declares its edit (``Constraint.repair_edit``; IFEval's are in
``adhere.constraints.edits``). Given a response and its constraints, ``repair`` applies the edit
of each failed constraint (in an order
where later edits do not undo earlier ones), re-verifies with the evaluation's own checkers, and
returns the edited text only if it now follows *every* constraint. Nothing is written for the
constraints that need new content (a language, two different answers, a letter or keyword count
to raise, a first word for the n-th paragraph, a fixed yes/no answer): those stay unrepaired, and
so does an answer that mostly repeats itself (``degenerate``).

Used by ``make-sft``/``make-pairs --repair`` and ``adhere loop --repair``: a prompt none of whose
samples passes can still give an SFT row (the repaired answer, provenance ``repair of ...``) and
a minimal-edit preference pair (chosen: the repair, rejected: the model's own answer).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from adhere.constraints.base import Constraint
from adhere.constraints.edits import BULLET


def repairable(constraint: Constraint) -> bool:
    """Whether the constraint declares an edit (``Constraint.repair_edit``)."""
    return type(constraint).repair_edit is not None


def _grams(text: str, n: int) -> list[tuple[str, ...]]:
    words = text.split()
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def degenerate(text: str, n: int = 4, floor: float = 0.6) -> bool:
    """True for text that mostly repeats itself (distinct word n-grams below ``floor``): a
    looping answer edited into a passing one would teach the loop, not the instruction."""
    grams = _grams(text, n)
    return len(grams) >= 16 and len(set(grams)) / len(grams) < floor


def repetition(text: str, n: int = 4) -> float:
    """The share of ``text``'s word n-grams that repeat an earlier one (rep-n of Welleck et al.,
    2020): 0 for text that never repeats four words in a row, near 1 for a loop; 0 for text of
    fewer than ``n`` words."""
    grams = _grams(text, n)
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


def repair(text: str, constraints: Sequence[Constraint], passes: int = 2) -> str | None:
    """``text`` edited to follow every one of ``constraints``, or None where no edit here can
    (or where ``text`` is degenerate, mostly repeating itself)."""
    if degenerate(text):
        return None
    for _ in range(passes):
        failed = [c for c in constraints if not c.check(text).passed]
        if not failed:
            return text
        if not all(repairable(c) for c in failed):
            return None
        # In the order the classes declare (Constraint.repair_rank), so later edits do not undo
        # earlier ones; a plugin's edit (rank 1000 unless it says) comes after adhere's.
        for c in sorted(failed, key=lambda c: type(c).repair_rank):
            edited = type(c).repair_edit(text, c)
            if edited is None or not edited.strip():
                return None
            text = edited
    return text if all(c.check(text).passed for c in constraints) else None


_BOUNDARY = re.compile(r"[.!?][\"')\]*_]*(?=\s|$)|\n")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]+")


def ending(text: str, min_words: int = 8, loop_words: int = 3) -> str | None:
    """An answer cut off at the token limit, ended where it last made sense: before the first line
    or sentence (of ``loop_words`` words or more, list markers aside) that repeats an earlier one,
    else at its last sentence end or line break; without a trailing bare list marker or a line that
    only announces more (ends with ``:``). None where fewer than ``min_words`` words are left, or
    where what is left still mostly repeats itself.

    The result reads as a complete answer the model itself began: training towards it teaches the
    model to stop where it would otherwise loop or ramble to the limit."""
    seen_lines: set[str] = set()
    seen_sentences: set[str] = set()
    cut, position = None, 0
    for line in text.splitlines(keepends=True):
        key = " ".join(BULLET.sub("", line).split()).lower()  # "3. x" repeats "2. x"
        if len(key.split()) >= loop_words and key in seen_lines:
            cut = position
            break
        for sentence in _SENTENCE.finditer(line):
            said = " ".join(sentence.group().split()).lower()
            if len(said.split()) >= loop_words and said in seen_sentences:
                cut = position + sentence.start()
                break
            seen_sentences.add(said)
        if cut is not None:
            break
        seen_lines.add(key)
        position += len(line)
    if cut is None:  # no loop: the limit cut the last sentence short
        ends = [m.end() for m in _BOUNDARY.finditer(text)]
        cut = ends[-1] if ends else 0
    lines = text[:cut].rstrip().splitlines()
    while lines and (not BULLET.sub("", lines[-1] + " ").strip() or lines[-1].rstrip().endswith(":")):
        lines.pop()  # a blank line, a bare list marker, or a line that only announces more
    kept = "\n".join(lines).strip()
    if len(kept.split()) < min_words or degenerate(kept):
        return None
    return kept
