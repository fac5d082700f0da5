"""Verifier-guided repair: each edit makes its constraint pass, combinations are re-verified,
and what needs new content is left alone."""

from __future__ import annotations

import json

import pytest

from adhere import build
from adhere import ids
from adhere.constraints.registry import get
from adhere.improve.repair import ending, repair

TEXT = ("The sea is calm today, and the boats are out. Fishermen check their nets. Gulls circle "
        "above the harbour. Children run along the pier, laughing. The sun sets slowly over the "
        "water. Lights come on in the town.")  # fmt: skip

CASES = [
    ("change_case:english_lowercase", {}),
    ("change_case:english_capital", {}),
    ("change_case:capital_word_frequency", {"capital_frequency": 3, "capital_relation": "at least"}),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Describe a harbour."}),
    ("detectable_content:number_placeholders", {"num_placeholders": 3}),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}),
    ("detectable_format:json_format", {}),
    ("detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 3}),
    ("detectable_format:number_bullet_lists", {"num_bullets": 4}),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}),
    ("detectable_format:title", {}),
    ("keywords:forbidden_words", {"forbidden_words": ["calm", "boats"]}),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 3}),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "less than"}),
    ("length_constraints:number_words", {"num_words": 20, "relation": "less than"}),
    ("punctuation:no_comma", {}),
    ("startend:end_checker", {"end_phrase": "Is there anything else I can help with?"}),
    ("startend:quotation", {}),
]


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=[c[0] for c in CASES])
def test_each_edit_makes_its_constraint_pass(name, kwargs):
    constraint = build(name, kwargs)
    assert not constraint.check(TEXT).passed
    fixed = repair(TEXT, [constraint])
    assert fixed is not None and constraint.check(fixed).passed


def test_every_repairable_id_is_tested():
    assert {i for i in ids("ifeval") if get(i).repair_edit is not None} == {name for name, _ in CASES}


def test_edits_apply_cuts_and_regrouping_first_and_wrappers_last():
    rank = {name: get(name).repair_rank for name, _ in CASES}
    assert len(set(rank.values())) == len(rank)  # one order, whatever the order of the failures
    assert max(rank, key=rank.get) == "detectable_format:json_format"
    assert rank["startend:quotation"] > rank["detectable_content:postscript"] > rank["length_constraints:number_paragraphs"]
    assert max(rank.values()) < 1000  # a plugin's edit (rank 1000 unless it says) comes after them


def test_combinations_are_re_verified_together():
    constraints = [build("change_case:english_lowercase"), build("punctuation:no_comma"),
                   build("startend:end_checker", {"end_phrase": "Any other questions?"}),
                   build("length_constraints:number_paragraphs", {"num_paragraphs": 2})]  # fmt: skip
    fixed = repair(TEXT, constraints)
    assert fixed is not None and all(c.check(fixed).passed for c in constraints)
    assert "," not in fixed and fixed.endswith("any other questions?")
    wrapped = repair(TEXT, [build("detectable_format:json_format"), build("detectable_content:postscript", {"postscript_marker": "P.S."})])
    assert "P.S." in json.loads(wrapped)["response"]


def test_what_needs_new_content_is_not_repaired():
    assert repair(TEXT, [build("language:response_language", {"language": "fr"})]) is None
    assert repair(TEXT, [build("length_constraints:number_words", {"num_words": 500, "relation": "at least"})]) is None
    # One unrepairable failure leaves the whole answer alone, even if another could be fixed.
    assert repair(TEXT, [build("punctuation:no_comma"), build("combination:two_responses")]) is None
    # Too few sentences for the asked paragraphs.
    assert repair("One sentence only.", [build("length_constraints:number_paragraphs", {"num_paragraphs": 4})]) is None
    assert repair(TEXT, [build("punctuation:no_comma")] * 0) == TEXT


def test_a_looping_answer_is_not_repaired():
    looping = "We are never getting back together. " * 12
    assert repair(looping, [build("startend:quotation")]) is None
    assert repair(TEXT, [build("startend:quotation")]) is not None


def test_a_cut_off_answer_ends_before_it_starts_repeating_itself():
    intro = "Here are the steps to plant a small tree in the garden:\n\n"
    step = "Dig a hole twice as wide as the roots and water it well."
    looping = intro + f"1. {step}\n2. {step}\n3. {step}\n4. Dig a"
    assert ending(looping) == intro + f"1. {step}"  # "2. x" repeats "1. x"; the announcing line stays
    sentence = "The river runs past the old mill and into the quiet valley below."
    assert ending(f"Rivers matter to towns. {sentence} {sentence} {sentence} The riv") == f"Rivers matter to towns. {sentence}"
    # No loop: the token limit cut the last sentence short, so it goes.
    rambling = "Tides come from the pull of the moon. The sun adds a smaller pull of its own. Twice a day the sea"
    assert ending(rambling) == "Tides come from the pull of the moon. The sun adds a smaller pull of its own."
    assert ending("A list of things to pack for a long trip:\n\n* Socks and shoes for the walk.\n*") == (
        "A list of things to pack for a long trip:\n\n* Socks and shoes for the walk.")
    # Too little left, or still a loop: nothing to train on.
    assert ending("Short answer here. Short answer here. Short answer here. Sho") is None
    assert ending("I am a rocket, " * 40) is None
