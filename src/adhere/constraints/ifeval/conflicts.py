"""IFEval's table of instructions that must not be combined in one prompt.

The table is IFEval's ``INSTRUCTION_CONFLICTS`` made symmetric, as its ``conflict_make`` does:
every id conflicts with itself, and if A conflicts with B then B conflicts with A.
"""

from __future__ import annotations

import functools

_ALL = object()  # "conflicts with every IFEval id"

_KEYWORD_EXISTENCE = "keywords:existence"
_FORBIDDEN = "keywords:forbidden_words"
_LANGUAGE = "language:response_language"
_TITLE = "detectable_format:title"
_NO_COMMA = "punctuation:no_comma"

_TABLE: dict[str, object] = {
    "keywords:existence": {"keywords:existence"},
    "keywords:frequency": {"keywords:frequency"},
    "keywords:forbidden_words": {"keywords:forbidden_words"},
    "keywords:letter_frequency": {"keywords:letter_frequency"},
    "language:response_language": {
        "language:response_language",
        "detectable_format:multiple_sections",
        "keywords:existence",
        "keywords:frequency",
        "keywords:forbidden_words",
        "startend:end_checker",
        "change_case:english_capital",
        "change_case:english_lowercase",
    },
    "length_constraints:number_sentences": {"length_constraints:number_sentences"},
    "length_constraints:number_paragraphs": {
        "length_constraints:number_paragraphs",
        "length_constraints:nth_paragraph_first_word",
        "length_constraints:number_sentences",
    },
    "length_constraints:number_words": {"length_constraints:number_words"},
    "length_constraints:nth_paragraph_first_word": {
        "length_constraints:nth_paragraph_first_word",
        "length_constraints:number_paragraphs",
    },
    "detectable_content:number_placeholders": {"detectable_content:number_placeholders"},
    "detectable_content:postscript": {"detectable_content:postscript"},
    "detectable_format:number_bullet_lists": {"detectable_format:number_bullet_lists"},
    "detectable_format:constrained_response": _ALL,
    "detectable_format:number_highlighted_sections": {
        "detectable_format:number_highlighted_sections"
    },
    "detectable_format:multiple_sections": {
        "detectable_format:multiple_sections",
        "language:response_language",
        "detectable_format:number_highlighted_sections",
    },
    "detectable_format:json_format": (_ALL, {_FORBIDDEN, _KEYWORD_EXISTENCE}),
    "detectable_format:title": {"detectable_format:title"},
    "combination:two_responses": (
        _ALL,
        {_FORBIDDEN, _KEYWORD_EXISTENCE, _LANGUAGE, _TITLE, _NO_COMMA},
    ),
    "combination:repeat_prompt": (_ALL, {_KEYWORD_EXISTENCE, _TITLE, _NO_COMMA}),
    "startend:end_checker": {"startend:end_checker"},
    "change_case:capital_word_frequency": {
        "change_case:capital_word_frequency",
        "change_case:english_lowercase",
        "change_case:english_capital",
    },
    "change_case:english_capital": {"change_case:english_capital"},
    "change_case:english_lowercase": {
        "change_case:english_lowercase",
        "change_case:english_capital",
    },
    "punctuation:no_comma": {"punctuation:no_comma"},
    "startend:quotation": {"startend:quotation", "detectable_format:title"},
}


@functools.cache
def conflict_table() -> dict[str, frozenset[str]]:
    """Symmetric conflicts between IFEval ids (each id conflicts with itself)."""
    every = set(_TABLE)
    table: dict[str, set[str]] = {}
    for cid, spec in _TABLE.items():
        if spec is _ALL:
            table[cid] = set(every)
        elif isinstance(spec, tuple):
            table[cid] = every - spec[1]
        else:
            table[cid] = set(spec)
    for cid in list(table):
        for other in list(table[cid]):
            table[other].add(cid)
        table[cid].add(cid)
    return {cid: frozenset(others) for cid, others in table.items()}


def _declared(cid: str) -> frozenset[str]:
    """What a registered constraint outside IFEval's table declares it conflicts with (itself
    too, if it can be synthesized: a prompt asks for each instruction once)."""
    from adhere.constraints.registry import CONSTRAINTS

    if cid in _TABLE or cid not in CONSTRAINTS:
        return frozenset()
    cls = CONSTRAINTS.get(cid)
    return frozenset(cls.conflicts_with) | (frozenset({cid}) if cls.sample_kwargs is not None else frozenset())


def conflicts(ids: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    """The pairs of ``ids`` that must not be combined: IFEval's table, and what other registered
    constraints declare (``Constraint.conflicts_with``); ids nobody knows: none."""
    table = conflict_table()
    pairs = []
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            if b in table.get(a, ()) or b in _declared(a) or a in _declared(b):
                pairs.append((a, b))
    return pairs
