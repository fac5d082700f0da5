"""Verifier-guided repair: the smallest deterministic edit that makes a response follow a constraint.

For many verifiable constraints a failing answer is one mechanical edit away from a passing one:
lowercase it, drop its commas, add the postscript, wrap it in quotes or JSON, regroup its
sentences into the asked number of paragraphs, sections or bullets, cut it below a length. Given
a response and its constraints, ``repair`` applies the edit of each failed constraint (in an order
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

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from adhere.constraints.base import Constraint

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_BLANK_LINES = re.compile(r"\n\s*\n")
_BULLET = re.compile(r"^\s*(?:[*-]|\d+[.)])\s+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
PLACEHOLDERS = ("name", "date", "address", "place", "time", "number", "email", "company", "city", "topic")


def _units(text: str) -> list[str]:
    """Paragraphs when there are several, else sentences: what regrouping edits rearrange."""
    text = re.sub(r"\n?\s*\*\*\*\s*\n?", "\n\n", text)  # earlier dividers go back to blank lines
    paragraphs = [p.strip() for p in _BLANK_LINES.split(text) if p.strip()]
    return paragraphs if len(paragraphs) > 1 else _sentences(text)


def _sentences(text: str) -> list[str]:
    flat = " ".join(line.strip() for line in text.splitlines() if line.strip())
    return [s.strip() for s in _SENTENCE_END.split(flat) if s.strip()]


def _groups(units: list[str], n: int) -> list[list[str]] | None:
    """``units`` in ``n`` consecutive, non-empty, near-equal groups (None: too few units)."""
    if n < 1 or len(units) < n:
        return None
    size, extra = divmod(len(units), n)
    groups, start = [], 0
    for index in range(n):
        end = start + size + (1 if index < extra else 0)
        groups.append(units[start:end])
        start = end
    return groups


def _paragraphs(text: str, c: Any) -> str | None:
    groups = _groups(_units(text), c.num_paragraphs)
    return None if groups is None else "\n\n***\n\n".join(" ".join(g) for g in groups)


def _sections(text: str, c: Any) -> str | None:
    groups = _groups(_units(text), c.num_sections)
    if groups is None:
        return None
    return "\n\n".join(f"{c.section_spliter} {i}\n{' '.join(g)}" for i, g in enumerate(groups, 1))


def _bullets(text: str, c: Any) -> str | None:
    lines = [line for line in text.splitlines() if line.strip()]
    items = [_BULLET.sub("", line).strip() for line in lines if _BULLET.match(line)]
    if len(items) < c.num_bullets:
        items = [_BULLET.sub("", s).strip() for s in _sentences(text)]
    items = [item.lstrip("*- ").strip() for item in items if item.lstrip("*- ").strip()]
    if len(items) < c.num_bullets:
        return None
    return "\n".join(f"* {item}" for item in items[: c.num_bullets])


def _shorter(text: str, fits: Callable[[str], bool]) -> str | None:
    """The longest prefix of whole sentences that ``fits`` (None if not even one sentence does)."""
    sentences = _sentences(text)
    while sentences:
        candidate = " ".join(sentences)
        if fits(candidate):
            return candidate
        sentences.pop()
    return None


def _less(c: Any) -> bool:
    return getattr(c, "relation", None) == "less than"


def _capital_words(text: str, c: Any) -> str | None:
    words = list(_WORD.finditer(text))
    if c.capital_relation == "less than":  # keep the first N-1 all-capital words, lower the rest
        keep, out, last = c.capital_frequency - 1, [], 0
        for match in words:
            word = match.group()
            if word.isupper() and len(word) > 1:
                if keep > 0:
                    keep -= 1
                else:
                    out += [text[last : match.start()], word.capitalize()]
                    last = match.end()
        return "".join(out) + text[last:]
    # at least N: raise the first words that are not yet all capitals
    needed = c.capital_frequency - sum(1 for m in words if m.group().isupper())
    out, last = [], 0
    for match in words:
        if needed <= 0:
            break
        if not match.group().isupper():
            out += [text[last : match.start()], match.group().upper()]
            last = match.end()
            needed -= 1
    return None if needed > 0 else "".join(out) + text[last:]


def _highlights(text: str, c: Any) -> str | None:
    """Wrap whole words (longer than three letters, outside markdown) as ``*word*`` until N."""
    needed = c.num_highlights - len(re.findall(r"\*[^\n*]*[^\s*][^\n*]*\*", text))
    out, last, used = [], 0, set()
    for match in _WORD.finditer(text):
        if needed <= 0:
            break
        word = match.group()
        before, after = text[match.start() - 1 : match.start()], text[match.end() : match.end() + 1]
        if len(word) > 3 and word.lower() not in used and "*" not in (before, after):
            out += [text[last : match.start()], f"*{word}*"]
            last = match.end()
            used.add(word.lower())
            needed -= 1
    return None if needed > 0 else "".join(out) + text[last:]


def _title(text: str, c: Any) -> str:
    words = _WORD.findall(text)[:4] or ["Answer"]
    return f"<<{' '.join(w.capitalize() for w in words)}>>\n\n{text.strip()}"


def _placeholders(text: str, c: Any) -> str:
    have = len(re.findall(r"\[.*?\]", text))
    missing = max(0, c.num_placeholders - have)
    fields = [f"[{PLACEHOLDERS[i % len(PLACEHOLDERS)]}{'' if i < len(PLACEHOLDERS) else i}]" for i in range(missing)]
    return f"{text.rstrip()}\n\nDetails to fill in: {' '.join(fields)}" if fields else text


def _forbidden(text: str, c: Any) -> str:
    for word in c.forbidden_words:
        text = re.sub(r"\b" + re.escape(word) + r"\b", "", text, flags=re.IGNORECASE)
    return re.sub(r"[ \t]{2,}", " ", text)


def _no_comma(text: str, c: Any) -> str:
    return re.sub(r"\s*,\s*", " ", text).replace(" .", ".")


def _json(text: str, c: Any) -> str:
    return json.dumps({"response": text.strip()}, ensure_ascii=False, indent=2)


#: The edit of each repairable constraint id, in the order they are applied: regrouping and
#: cutting first, then what is added at the start or the end, then case and punctuation, and the
#: wrappers (quotes, JSON) last so that nothing is added outside them.
REPAIRS: dict[str, Callable[[str, Any], str | None]] = {
    "length_constraints:number_words": lambda t, c: _shorter(t, lambda s: c.check(s).passed) if _less(c) else None,
    "length_constraints:number_sentences": lambda t, c: _shorter(t, lambda s: c.check(s).passed) if _less(c) else None,
    "length_constraints:number_paragraphs": _paragraphs,
    "detectable_format:multiple_sections": _sections,
    "detectable_format:number_bullet_lists": _bullets,
    "keywords:forbidden_words": _forbidden,
    "detectable_format:title": _title,
    "combination:repeat_prompt": lambda t, c: f"{c.prompt_to_repeat.strip()}\n\n{t.strip()}",
    "detectable_content:number_placeholders": _placeholders,
    "detectable_content:postscript": lambda t, c: f"{t.rstrip()}\n\n{c.postscript_marker} I hope this helps.",
    "startend:end_checker": lambda t, c: f"{t.rstrip()}\n\n{c.end_phrase.strip()}",
    "detectable_format:number_highlighted_sections": _highlights,
    "change_case:capital_word_frequency": _capital_words,
    "change_case:english_lowercase": lambda t, c: t.lower(),
    "change_case:english_capital": lambda t, c: t.upper(),
    "punctuation:no_comma": _no_comma,
    "startend:quotation": lambda t, c: f'"{t.strip()}"',
    "detectable_format:json_format": _json,
}


def _edit(c: Constraint) -> Callable[[str, Any], str | None] | None:
    return REPAIRS.get(c.id) or type(c).repair_edit


def degenerate(text: str, n: int = 4, floor: float = 0.6) -> bool:
    """True for text that mostly repeats itself (distinct word n-grams below ``floor``): a
    looping answer edited into a passing one would teach the loop, not the instruction."""
    words = text.split()
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return len(grams) >= 16 and len(set(grams)) / len(grams) < floor


def repair(text: str, constraints: Sequence[Constraint], passes: int = 2) -> str | None:
    """``text`` edited to follow every one of ``constraints``, or None where no edit here can
    (or where ``text`` is degenerate, mostly repeating itself)."""
    if degenerate(text):
        return None
    order = {name: index for index, name in enumerate(REPAIRS)}
    for _ in range(passes):
        failed = [c for c in constraints if not c.check(text).passed]
        if not failed:
            return text
        if any(_edit(c) is None for c in failed):
            return None
        # A constraint's own declared edit (Constraint.repair_edit) comes after adhere's.
        for c in sorted(failed, key=lambda c: order.get(c.id, len(order))):
            edited = _edit(c)(text, c)
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
        key = " ".join(_BULLET.sub("", line).split()).lower()  # "3. x" repeats "2. x"
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
    while lines and (not _BULLET.sub("", lines[-1] + " ").strip() or lines[-1].rstrip().endswith(":")):
        lines.pop()  # a blank line, a bare list marker, or a line that only announces more
    kept = "\n".join(lines).strip()
    if len(kept.split()) < min_words or degenerate(kept):
        return None
    return kept
