"""The registry, kwargs schemas, instruction rendering and IFEval's conflict table."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adhere import ConstraintError, build, conflict_table, conflicts, get, ids, parse_instruction

IFEVAL_IDS = {
    "keywords:existence", "keywords:frequency", "keywords:forbidden_words",
    "keywords:letter_frequency", "language:response_language",
    "length_constraints:number_sentences", "length_constraints:number_paragraphs",
    "length_constraints:number_words", "length_constraints:nth_paragraph_first_word",
    "detectable_content:number_placeholders", "detectable_content:postscript",
    "detectable_format:number_bullet_lists", "detectable_format:constrained_response",
    "detectable_format:number_highlighted_sections", "detectable_format:multiple_sections",
    "detectable_format:json_format", "detectable_format:title", "combination:two_responses",
    "combination:repeat_prompt", "startend:end_checker", "change_case:capital_word_frequency",
    "change_case:english_capital", "change_case:english_lowercase", "punctuation:no_comma",
    "startend:quotation",
}  # fmt: skip


def test_all_25_ifeval_ids_are_registered():
    assert set(ids("ifeval")) == IFEVAL_IDS


@pytest.mark.parametrize(
    ("cid", "kwargs", "message"),
    [
        ("punctuation:no_coma", {}, "unknown constraint id 'punctuation:no_coma'; did you mean punctuation:no_comma"),
        ("punctuation:no_comma", {"count": 1}, "punctuation:no_comma: unexpected kwarg 'count'"),
        ("length_constraints:number_words", {"relation": "at least"},
         "length_constraints:number_words: missing kwarg 'num_words' (expected integer)"),
        ("length_constraints:number_words", {"num_words": "300", "relation": "at least"},
         "length_constraints:number_words: kwarg 'num_words' must be integer, got '300'"),
        ("length_constraints:number_words", {"num_words": 1.5, "relation": "at least"},
         "kwarg 'num_words' must be integer, got 1.5"),
        ("length_constraints:number_words", {"num_words": True, "relation": "at least"},
         "kwarg 'num_words' must be integer, got True"),
        ("length_constraints:number_words", {"num_words": 3, "relation": "at most"},
         "kwarg 'relation' must be 'less than' or 'at least', got 'at most'"),
        ("keywords:existence", {"keywords": "apple"}, "kwarg 'keywords' must be list of string"),
        ("keywords:existence", {"keywords": []}, "kwarg 'keywords' must list at least one keyword"),
        ("keywords:letter_frequency", {"letter": "ab", "let_frequency": 1, "let_relation": "at least"},
         "kwarg 'letter' must be a single character"),
        ("language:response_language", {"language": "xx"}, "kwarg 'language' must be one of"),
        ("length_constraints:nth_paragraph_first_word",
         {"num_paragraphs": 2, "nth_paragraph": 3, "first_word": "a"},
         "kwarg 'nth_paragraph' must be between 1 and num_paragraphs (2)"),
    ],
)
def test_bad_kwargs_name_the_id_the_key_and_the_type(cid, kwargs, message):
    with pytest.raises(ConstraintError) as info:
        build(cid, kwargs)
    assert message in str(info.value)


def test_none_values_are_absent_and_integral_floats_are_integers():
    # The HF copy of IFEval pads kwargs with nulls; IFBench stores counts as floats.
    c = build("length_constraints:number_words", {"num_words": 300.0, "relation": "at least", "x": None})
    assert c.num_words == 300 and isinstance(c.num_words, int)


def test_descriptions_equal_the_reference_sentences():
    assert build("punctuation:no_comma").describe() == (
        "In your entire response, refrain from the use of any commas."
    )
    assert build("keywords:existence", {"keywords": ["pie", "apple"]}).describe() == (
        "Include keywords ['apple', 'pie'] in the response."
    )
    assert build("detectable_format:constrained_response").describe() == (
        "Answer with one of the following options: ('My answer is yes.', 'My answer is no.', "
        "'My answer is maybe.')"
    )
    assert build("language:response_language", {"language": "kn"}).describe() == (
        "Your ENTIRE response should be in Kannada language, no other language is allowed."
    )


def test_schema_lists_every_kwarg_with_its_type():
    assert get("keywords:frequency").schema() == {
        "keyword": "string",
        "frequency": "integer",
        "relation": "'less than' or 'at least'",
    }


# IFEval's INSTRUCTION_CONFLICTS (instructions_registry.py) as the reference writes it, before its
# conflict_make closes it both ways: ALL is every IFEval id; (ALL, {...}) is every id but those.
_ALL = "all"
_EXISTENCE, _FORBIDDEN = "keywords:existence", "keywords:forbidden_words"
_LANGUAGE, _TITLE, _NO_COMMA = "language:response_language", "detectable_format:title", "punctuation:no_comma"
REFERENCE_CONFLICTS = {
    "keywords:existence": {"keywords:existence"},
    "keywords:frequency": {"keywords:frequency"},
    "keywords:forbidden_words": {"keywords:forbidden_words"},
    "keywords:letter_frequency": {"keywords:letter_frequency"},
    "language:response_language": {
        "language:response_language", "detectable_format:multiple_sections", "keywords:existence",
        "keywords:frequency", "keywords:forbidden_words", "startend:end_checker",
        "change_case:english_capital", "change_case:english_lowercase",
    },
    "length_constraints:number_sentences": {"length_constraints:number_sentences"},
    "length_constraints:number_paragraphs": {
        "length_constraints:number_paragraphs", "length_constraints:nth_paragraph_first_word",
        "length_constraints:number_sentences",
    },
    "length_constraints:number_words": {"length_constraints:number_words"},
    "length_constraints:nth_paragraph_first_word": {
        "length_constraints:nth_paragraph_first_word", "length_constraints:number_paragraphs",
    },
    "detectable_content:number_placeholders": {"detectable_content:number_placeholders"},
    "detectable_content:postscript": {"detectable_content:postscript"},
    "detectable_format:number_bullet_lists": {"detectable_format:number_bullet_lists"},
    "detectable_format:constrained_response": _ALL,
    "detectable_format:number_highlighted_sections": {"detectable_format:number_highlighted_sections"},
    "detectable_format:multiple_sections": {
        "detectable_format:multiple_sections", "language:response_language",
        "detectable_format:number_highlighted_sections",
    },
    "detectable_format:json_format": (_ALL, {_FORBIDDEN, _EXISTENCE}),
    "detectable_format:title": {"detectable_format:title"},
    "combination:two_responses": (_ALL, {_FORBIDDEN, _EXISTENCE, _LANGUAGE, _TITLE, _NO_COMMA}),
    "combination:repeat_prompt": (_ALL, {_EXISTENCE, _TITLE, _NO_COMMA}),
    "startend:end_checker": {"startend:end_checker"},
    "change_case:capital_word_frequency": {
        "change_case:capital_word_frequency", "change_case:english_lowercase", "change_case:english_capital",
    },
    "change_case:english_capital": {"change_case:english_capital"},
    "change_case:english_lowercase": {"change_case:english_lowercase", "change_case:english_capital"},
    "punctuation:no_comma": {"punctuation:no_comma"},
    "startend:quotation": {"startend:quotation", "detectable_format:title"},
}  # fmt: skip


def test_the_classes_declarations_make_the_references_conflict_table():
    every = set(REFERENCE_CONFLICTS)
    expected = {}
    for cid, spec in REFERENCE_CONFLICTS.items():
        expected[cid] = every if spec == _ALL else every - spec[1] if isinstance(spec, tuple) else set(spec)
    for cid in list(expected):  # conflict_make: symmetric, and each id with itself
        for other in list(expected[cid]):
            expected[other] = expected[other] | {cid}
        expected[cid] = expected[cid] | {cid}
    assert {cid: set(others) for cid, others in conflict_table().items()} == expected


def test_conflict_table_is_symmetric_and_reflexive():
    table = conflict_table()
    assert set(table) == IFEVAL_IDS
    for a, others in table.items():
        assert a in others
        for b in others:
            assert a in table[b], (a, b)
    assert conflicts(["detectable_format:json_format", "keywords:existence"]) == []
    assert conflicts(["startend:quotation", "detectable_format:title"]) == [
        ("startend:quotation", "detectable_format:title")
    ]


# Random valid kwargs for each id: kwargs -> JSON -> constraint -> kwargs must round-trip.
_word = st.text(alphabet="abcdefghij", min_size=1, max_size=8)
_rel = st.sampled_from(["less than", "at least"])
_n = st.integers(0, 500)
KWARGS = {
    "keywords:existence": st.fixed_dictionaries({"keywords": st.lists(_word, min_size=1, max_size=3)}),
    "keywords:frequency": st.fixed_dictionaries({"keyword": _word, "frequency": _n, "relation": _rel}),
    "keywords:forbidden_words": st.fixed_dictionaries({"forbidden_words": st.lists(_word, min_size=1, max_size=3)}),
    "keywords:letter_frequency": st.fixed_dictionaries(
        {"letter": st.sampled_from("abcxyz"), "let_frequency": _n, "let_relation": _rel}),
    "language:response_language": st.fixed_dictionaries({"language": st.sampled_from(["en", "fr", "kn"])}),
    "length_constraints:number_sentences": st.fixed_dictionaries({"num_sentences": _n, "relation": _rel}),
    "length_constraints:number_paragraphs": st.fixed_dictionaries({"num_paragraphs": _n}),
    "length_constraints:number_words": st.fixed_dictionaries({"num_words": _n, "relation": _rel}),
    "length_constraints:nth_paragraph_first_word": st.integers(1, 9).flatmap(
        lambda n: st.fixed_dictionaries(
            {"num_paragraphs": st.just(n), "nth_paragraph": st.integers(1, n), "first_word": _word})),
    "detectable_content:number_placeholders": st.fixed_dictionaries({"num_placeholders": _n}),
    "detectable_content:postscript": st.fixed_dictionaries({"postscript_marker": st.sampled_from(["P.S.", "P.P.S"])}),
    "detectable_format:number_bullet_lists": st.fixed_dictionaries({"num_bullets": _n}),
    "detectable_format:number_highlighted_sections": st.fixed_dictionaries({"num_highlights": _n}),
    "detectable_format:multiple_sections": st.fixed_dictionaries(
        {"section_spliter": st.sampled_from(["Section", "SECTION"]), "num_sections": _n}),
    "combination:repeat_prompt": st.fixed_dictionaries({"prompt_to_repeat": _word}),
    "startend:end_checker": st.fixed_dictionaries({"end_phrase": _word}),
    "change_case:capital_word_frequency": st.fixed_dictionaries({"capital_frequency": _n, "capital_relation": _rel}),
}  # fmt: skip
specs = st.sampled_from(sorted(IFEVAL_IDS)).flatmap(
    lambda cid: st.tuples(st.just(cid), KWARGS.get(cid, st.just({})))
)


@settings(max_examples=500, deadline=None)
@given(specs)
def test_kwargs_round_trip_through_json(spec):
    cid, kwargs = spec
    constraint = build(cid, kwargs)
    again = build(cid, json.loads(json.dumps(constraint.kwargs())))
    assert again == constraint
    assert again.describe() == constraint.describe()
    assert isinstance(constraint.describe(), str) and constraint.describe()


@settings(max_examples=1000, deadline=None)
@given(specs)
def test_rendering_then_parsing_round_trips(spec):
    cid, kwargs = spec
    constraint = build(cid, kwargs)
    parsed = get(cid).parse(constraint.describe())
    if cid == "combination:repeat_prompt":
        assert parsed is None  # IFEval's sentence does not contain the request to repeat
        return
    # The sentence lists keywords sorted (and forbidden words deduplicated), as the reference does.
    canonical = dict(kwargs)
    if "keywords" in canonical:
        canonical["keywords"] = sorted(canonical["keywords"])
    if "forbidden_words" in canonical:
        canonical["forbidden_words"] = sorted(set(canonical["forbidden_words"]))
    assert parsed == build(cid, canonical)
    assert parsed.describe() == constraint.describe()
    assert constraint in parse_instruction(constraint.describe()) or parsed in parse_instruction(
        constraint.describe()
    )


def test_parse_instruction_finds_the_constraint_or_nothing():
    assert parse_instruction("Answer with at least 300 words.") == [
        build("length_constraints:number_words", {"num_words": 300, "relation": "at least"})
    ]
    assert parse_instruction("Your ENTIRE response should be in Kannada language, no other language is allowed.") == [
        build("language:response_language", {"language": "kn"})
    ]
    assert parse_instruction("Answer with at most 300 words.") == []
    assert parse_instruction("Write a poem.") == []
