"""The edits verifier-guided repair makes (``Constraint.repair_edit`` of IFEval's classes).

Each edit takes a failing response and its constraint and returns the response changed as
little as it can be to follow it (None where no mechanical edit can). ``adhere.improve.repair``
applies them in order and keeps an edit only where the re-verified text follows every constraint.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_BLANK_LINES = re.compile(r"\n\s*\n")
BULLET = re.compile(r"^\s*(?:[*-]|\d+[.)])\s+")
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


def paragraphs(text: str, c: Any) -> str | None:
    groups = _groups(_units(text), c.num_paragraphs)
    return None if groups is None else "\n\n***\n\n".join(" ".join(g) for g in groups)


def sections(text: str, c: Any) -> str | None:
    groups = _groups(_units(text), c.num_sections)
    if groups is None:
        return None
    return "\n\n".join(f"{c.section_spliter} {i}\n{' '.join(g)}" for i, g in enumerate(groups, 1))


def bullets(text: str, c: Any) -> str | None:
    lines = [line for line in text.splitlines() if line.strip()]
    items = [BULLET.sub("", line).strip() for line in lines if BULLET.match(line)]
    if len(items) < c.num_bullets:
        items = [BULLET.sub("", s).strip() for s in _sentences(text)]
    items = [item.lstrip("*- ").strip() for item in items if item.lstrip("*- ").strip()]
    if len(items) < c.num_bullets:
        return None
    return "\n".join(f"* {item}" for item in items[: c.num_bullets])


def shorter(text: str, fits: Callable[[str], bool]) -> str | None:
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


def capital_words(text: str, c: Any) -> str | None:
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


def highlights(text: str, c: Any) -> str | None:
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


def title(text: str, c: Any) -> str:
    words = _WORD.findall(text)[:4] or ["Answer"]
    return f"<<{' '.join(w.capitalize() for w in words)}>>\n\n{text.strip()}"


def placeholders(text: str, c: Any) -> str:
    have = len(re.findall(r"\[.*?\]", text))
    missing = max(0, c.num_placeholders - have)
    fields = [f"[{PLACEHOLDERS[i % len(PLACEHOLDERS)]}{'' if i < len(PLACEHOLDERS) else i}]" for i in range(missing)]
    return f"{text.rstrip()}\n\nDetails to fill in: {' '.join(fields)}" if fields else text


def forbidden(text: str, c: Any) -> str:
    for word in c.forbidden_words:
        text = re.sub(r"\b" + re.escape(word) + r"\b", "", text, flags=re.IGNORECASE)
    return re.sub(r"[ \t]{2,}", " ", text)


def no_comma(text: str, c: Any) -> str:
    return re.sub(r"\s*,\s*", " ", text).replace(" .", ".")


def json_object(text: str, c: Any) -> str:
    return json.dumps({"response": text.strip()}, ensure_ascii=False, indent=2)


def cut_to_fit(text: str, c: Any) -> str | None:
    """A "less than" count (words, sentences): the longest whole-sentence prefix that passes."""
    return shorter(text, lambda s: c.check(s).passed) if _less(c) else None


def prepend_request(text: str, c: Any) -> str:
    return f"{c.prompt_to_repeat.strip()}\n\n{text.strip()}"


def add_postscript(text: str, c: Any) -> str:
    return f"{text.rstrip()}\n\n{c.postscript_marker} I hope this helps."


def add_end_phrase(text: str, c: Any) -> str:
    return f"{text.rstrip()}\n\n{c.end_phrase.strip()}"


def lowercase(text: str, c: Any) -> str:
    return text.lower()


def uppercase(text: str, c: Any) -> str:
    return text.upper()


def quote(text: str, c: Any) -> str:
    return f'"{text.strip()}"'
