"""All 541 IFEval prompts: adhere's verdicts equal the reference evaluator's, strict and loose.

The expected files are the unmodified google-research evaluator's output (../shared/data/README).
Keys 1122 and 1129 ask for the frequency of '#' and '!'; the reference swaps such a letter for a
random one, so its verdict there is a coin toss. adhere counts the literal character instead;
those two keys are checked against that rule rather than against the reference's draw.
"""

from __future__ import annotations

import pytest

from adhere.bench.scoring import score
from tests.conftest import IFEVAL, read_jsonl

RANDOM_IN_REFERENCE = {1122, 1129}


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    out = tmp_path_factory.mktemp("conformance")
    summary = score(
        IFEVAL / "input_response_data_gpt4_20231107_145030.jsonl",
        IFEVAL / "input_data_gpt4_20231107_145030.jsonl",
        out=out,
    )
    return summary, read_jsonl(out / "verdicts.jsonl")


@pytest.mark.parametrize("mode", ["strict", "loose"])
def test_every_prompt_matches_the_reference(scored, mode):
    _, rows = scored
    expected = read_jsonl(IFEVAL / "expected" / f"gpt4_seed51_{mode}.jsonl")
    assert [r["key"] for r in rows] == [e["key"] for e in expected]
    mismatches = [
        (row["key"], row[mode]["follow_instruction_list"], exp["follow_instruction_list"])
        for row, exp in zip(rows, expected)
        if row["key"] not in RANDOM_IN_REFERENCE
        and row[mode]["follow_instruction_list"] != exp["follow_instruction_list"]
    ]
    assert mismatches == []
    assert len(rows) == 541


def test_random_keys_count_the_literal_character(gpt4_inputs, gpt4_responses):
    responses = {r["prompt"]: r["response"] for r in gpt4_responses}
    from adhere import build

    for row in gpt4_inputs:
        if row["key"] not in RANDOM_IN_REFERENCE:
            continue
        index = row["instruction_id_list"].index("keywords:letter_frequency")
        kwargs = row["kwargs"][index]
        verdict = build("keywords:letter_frequency", kwargs).check(responses[row["prompt"]])
        found = responses[row["prompt"]].lower().count(kwargs["letter"])
        assert kwargs["letter"] in "#!"
        assert verdict.passed == (found >= kwargs["let_frequency"])
        assert f"found {found}" in verdict.reason


def test_headline_numbers_match_the_paper_outside_the_random_keys(scored):
    summary, rows = scored
    expected_strict = read_jsonl(IFEVAL / "expected" / "gpt4_seed51_strict.jsonl")
    # The reference's seed-51 numbers: 416/541 prompts, 697/834 instructions (strict). adhere
    # differs only where keys 1122/1129 differ; recount with the reference's draw there.
    adjusted = sum(
        (e if r["key"] in RANDOM_IN_REFERENCE else r["strict"])["follow_all_instructions"]
        for r, e in zip(rows, expected_strict)
    )
    assert adjusted == 416
    assert summary.strict.instruction.total == 834
    assert summary.missing_responses == []


def test_summary_equals_the_literal_character_outcome(scored):
    # ../shared's expected/summary.json records what the reference scores when the letters
    # '#' and '!' are counted literally, as adhere does: exactly adhere's numbers.
    import json

    summary, _ = scored
    expected = json.loads((IFEVAL / "expected" / "summary.json").read_text())
    literal = expected["if_letter_frequency_counts_literal_character"]
    for mode, scores in (("strict", summary.strict), ("loose", summary.loose)):
        assert scores.prompt.correct == literal[mode]["prompt_correct"]
        assert scores.instruction.correct == literal[mode]["inst_correct"]
        reference = expected["metrics_seed51"][mode]["per_instruction_id"]
        for cid, tally in scores.per_id.items():
            assert tally.total == reference[cid]["total"], cid
            if cid != "keywords:letter_frequency":  # the only id whose draw is random there
                assert tally.correct == reference[cid]["correct"], (mode, cid)
