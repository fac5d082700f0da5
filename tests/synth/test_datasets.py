"""make-sft and make-pairs on a run folder: rejection sampling, pairs, TRL's formats, the card."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import read_jsonl, write_jsonl

NO_COMMA = {"instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}


def candidate(text, strict, origin, parent=None, finish_reason=None):
    return {"text": text, "strict": strict, "loose": strict, "origin": origin, "parent": parent, "failed": [],
            "finish_reason": finish_reason}  # fmt: skip


@pytest.fixture
def run(tmp_path):
    prompts = write_jsonl(tmp_path / "prompts.jsonl", [
        {"key": "a", "prompt": "Say hi without commas.", **NO_COMMA},
        {"key": "b", "prompt": "Describe rain without commas.", **NO_COMMA},
        {"key": "c", "prompt": "Say hi without commas.", **NO_COMMA},  # same text as a
        {"key": "d", "prompt": "Count to three without commas.", **NO_COMMA},
    ])  # fmt: skip
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"data": str(prompts), "model": "local", "strategy": "best-of-n:2", "limit": None}))
    rows = [
        {"key": "a", "sample": 0, "response": "hi there", "candidates": [candidate("hi, there", 0.0, "sample 0"), candidate("hi there", 1.0, "sample 1")]},
        {"key": "b", "sample": 0, "response": "rain, rain", "candidates": [candidate("rain, rain", 0.0, "sample 0"), candidate("rain, more", 0.0, "sample 1")]},
        {"key": "c", "sample": 0, "response": "hi", "candidates": [candidate("hi", 1.0, "sample 0"), candidate("hi, you", 0.0, "sample 1")]},
        {"key": "d", "sample": 0, "response": None, "error": "boom"},
    ]  # fmt: skip
    write_jsonl(folder / "responses.jsonl", rows)
    return folder


def adhere(*args):
    return subprocess.run([sys.executable, "-m", "adhere.cli", *map(str, args)], capture_output=True, text=True)


def test_make_sft_keeps_only_verified_best_responses(run, tmp_path):
    out = tmp_path / "sft.jsonl"
    result = adhere("make-sft", run, "--out", out)
    assert result.returncode == 0, result.stderr
    rows = read_jsonl(out)
    assert [r["messages"] for r in rows] == [[{"role": "user", "content": "Say hi without commas."},
                                              {"role": "assistant", "content": "hi there"}]]  # fmt: skip
    assert rows[0]["provenance"]["origin"] == "sample 1" and rows[0]["provenance"]["strategy"] == "best-of-n:2"
    card = json.loads((tmp_path / "sft.card.json").read_text())
    assert card["rows"] == 1 and card["duplicate_prompts_removed"] == 1 and card["no_response"] == 1
    assert card["rejected_no_passing_candidate"] == 1
    assert card["candidate_pass_rate"] == pytest.approx(2 / 6)
    assert card["per_instruction_id"] == {"punctuation:no_comma": 1}


def test_make_pairs_writes_chosen_and_rejected(run, tmp_path):
    out = tmp_path / "pairs.jsonl"
    assert adhere("make-pairs", run, "--out", out).returncode == 0
    rows = read_jsonl(out)
    assert len(rows) == 1
    row = rows[0]
    assert row["prompt"] == [{"role": "user", "content": "Say hi without commas."}]
    assert row["chosen"] == [{"role": "assistant", "content": "hi there"}]
    assert row["rejected"] == [{"role": "assistant", "content": "hi, there"}]
    card = json.loads((tmp_path / "pairs.card.json").read_text())
    assert card["rows"] == 1 and card["no_pair"] == 1


def test_pairs_from_a_refinement_chain_prefer_the_refinement(tmp_path, run):
    rows = read_jsonl(run / "responses.jsonl")
    rows[1]["candidates"] = [candidate("rain, rain", 0.0, "answer"), candidate("rain and more", 0.5, "refinement 1", 0)]
    write_jsonl(run / "responses.jsonl", rows)
    assert adhere("make-pairs", run, "--out", tmp_path / "p.jsonl").returncode == 0
    pairs = read_jsonl(tmp_path / "p.jsonl")
    refined = [p for p in pairs if p["prompt"][0]["content"].startswith("Describe rain")]
    assert refined[0]["chosen"][0]["content"] == "rain and more" and refined[0]["rejected"][0]["content"] == "rain, rain"


def test_not_a_run_directory(tmp_path):
    result = adhere("make-sft", tmp_path, "--out", tmp_path / "x.jsonl")
    assert result.returncode == 2 and "not a run directory" in result.stderr
    assert not (tmp_path / "x.jsonl").exists()


def test_repair_adds_an_edited_answer_where_no_sample_passes(run, tmp_path):
    """Prompt b has no passing sample: --repair edits its best one (commas dropped), re-verified."""
    sft, pairs = tmp_path / "sft.jsonl", tmp_path / "pairs.jsonl"
    assert adhere("make-sft", run, "--out", sft, "--repair").returncode == 0
    assert adhere("make-pairs", run, "--out", pairs, "--repair").returncode == 0
    rows = {r["messages"][0]["content"]: r for r in read_jsonl(sft)}
    repaired = rows["Describe rain without commas."]
    assert repaired["messages"][1]["content"] == "rain rain"
    assert repaired["provenance"]["origin"] == "repair of sample 0" and repaired["provenance"]["strict"] == 1.0
    assert rows["Say hi without commas."]["provenance"]["origin"] == "sample 1"  # a passing sample wins
    card = json.loads((tmp_path / "sft.card.json").read_text())
    assert card["rows"] == 2 and card["repaired"] == 1 and card["repair"] is True
    pair = [p for p in read_jsonl(pairs) if p["prompt"][0]["content"].startswith("Describe rain")][0]
    assert pair["chosen"][0]["content"] == "rain rain" and pair["rejected"][0]["content"] == "rain, rain"
    # Without --repair nothing is edited.
    assert adhere("make-sft", run, "--out", sft).returncode == 0 and len(read_jsonl(sft)) == 1


def test_answers_cut_off_at_the_token_limit_are_not_trained_towards(run, tmp_path):
    """a: the passing sample was cut off, a complete one fails (and can be repaired); b: every
    sample was cut off, so there is nothing to train towards or repair from."""
    rows = read_jsonl(run / "responses.jsonl")
    rows[0]["candidates"] = [candidate("hi, there", 0.0, "sample 0", finish_reason="stop"),
                             candidate("hi there and", 1.0, "sample 1", finish_reason="length")]  # fmt: skip
    rows[1]["candidates"] = [candidate("rain, rain", 0.0, "sample 0", finish_reason="length"),
                             candidate("rain, more", 0.0, "sample 1", finish_reason="length")]  # fmt: skip
    write_jsonl(run / "responses.jsonl", [rows[0], rows[1]])  # c (a's text) has no answer here
    sft, pairs = tmp_path / "sft.jsonl", tmp_path / "pairs.jsonl"
    empty = adhere("make-sft", run, "--out", sft)
    assert empty.returncode == 0 and read_jsonl(sft) == []
    # No rows is never a silent success: the warning says why and what to change.
    assert ("warning: no rows: 3 of 4 answers were cut off at the token limit and are left out; raise the run's "
            "--max-tokens (or end them where they last made sense: end_cut_off)") in " ".join(empty.stderr.split())
    card = json.loads((tmp_path / "sft.card.json").read_text())
    assert card["cut_off_candidates"] == 3 and card["keep_cut_off"] is False
    assert card["rejected_passing_only_when_cut_off"] == 1 and card["rejected_all_cut_off"] == 1

    assert adhere("make-sft", run, "--out", sft, "--repair").returncode == 0
    rows = read_jsonl(sft)
    assert [(r["messages"][1]["content"], r["provenance"]["origin"]) for r in rows] == [("hi there", "repair of sample 0")]
    assert json.loads((tmp_path / "sft.card.json").read_text())["repaired"] == 1  # none from b's cut-off samples
    assert adhere("make-pairs", run, "--out", pairs, "--repair").returncode == 0
    chosen = {p["prompt"][0]["content"]: p["chosen"][0]["content"] for p in read_jsonl(pairs)}
    assert chosen == {"Say hi without commas.": "hi there"}

    # --keep-cut-off trains towards them as before.
    assert adhere("make-sft", run, "--out", sft, "--repair", "--keep-cut-off").returncode == 0
    kept = {r["messages"][0]["content"]: r["messages"][1]["content"] for r in read_jsonl(sft)}
    assert kept == {"Say hi without commas.": "hi there and", "Describe rain without commas.": "rain rain"}
    assert json.loads((tmp_path / "sft.card.json").read_text())["keep_cut_off"] is True


def test_sft_prefers_a_complete_passing_answer_and_counts_cut_off_only_passes(run, tmp_path):
    rows = read_jsonl(run / "responses.jsonl")
    rows[0]["candidates"] = [candidate("hi there and", 1.0, "sample 0", finish_reason="length"),
                             candidate("hi there", 1.0, "sample 1", finish_reason="stop")]  # fmt: skip
    rows[1]["candidates"] = [candidate("rain and", 1.0, "sample 0", finish_reason="length"),
                             candidate("rain, more", 0.0, "sample 1", finish_reason="stop")]  # fmt: skip
    write_jsonl(run / "responses.jsonl", [rows[0], rows[1]])
    sft = tmp_path / "sft.jsonl"
    assert adhere("make-sft", run, "--out", sft).returncode == 0
    rows = read_jsonl(sft)
    assert [r["messages"][1]["content"] for r in rows] == ["hi there"]
    assert rows[0]["provenance"]["origin"] == "sample 1"
    card = json.loads((tmp_path / "sft.card.json").read_text())
    assert card["rejected_passing_only_when_cut_off"] == 1


def test_pairs_prefer_a_complete_passing_answer_over_a_cut_off_one(run, tmp_path):
    """a: both pass, one ran out of tokens, so the complete one is chosen over it; b: a failing
    complete answer is still the rejected one before a cut-off pass."""
    rows = read_jsonl(run / "responses.jsonl")
    rows[0]["candidates"] = [candidate("hi there and", 1.0, "sample 0", finish_reason="length"),
                             candidate("hi there", 1.0, "sample 1", finish_reason="stop")]  # fmt: skip
    rows[1]["candidates"] = [candidate("rain and", 1.0, "sample 0", finish_reason="length"),
                             candidate("rain, more", 0.0, "sample 1", finish_reason="stop"),
                             candidate("rain falls", 1.0, "sample 2", finish_reason="stop")]  # fmt: skip
    write_jsonl(run / "responses.jsonl", [rows[0], rows[1]])
    pairs = tmp_path / "pairs.jsonl"
    assert adhere("make-pairs", run, "--out", pairs).returncode == 0
    got = {p["prompt"][0]["content"]: (p["chosen"][0]["content"], p["rejected"][0]["content"],
                                       p["provenance"]["rejected"]["cut_off"]) for p in read_jsonl(pairs)}  # fmt: skip
    assert got == {"Say hi without commas.": ("hi there", "hi there and", True),
                   "Describe rain without commas.": ("rain falls", "rain, more", False)}  # fmt: skip
    card = json.loads((tmp_path / "pairs.card.json").read_text())
    assert card["pairs_complete_over_cut_off"] == 1 and card["rows"] == 2
    # --keep-cut-off: the cut-off pass is as good as the complete one (the earlier wins), so no pair for a.
    assert adhere("make-pairs", run, "--out", pairs, "--keep-cut-off").returncode == 0
    assert [p["prompt"][0]["content"] for p in read_jsonl(pairs)] == ["Describe rain without commas."]


def test_a_plain_sampled_run_records_why_each_answer_stopped(run, tmp_path):
    """Rows of a run without a strategy (--samples): the row's own finish_reason is used."""
    rows = [
        {"key": "a", "sample": 0, "response": "hi there and", "finish_reason": "length"},
        {"key": "a", "sample": 1, "response": "hi there", "finish_reason": "stop"},
        {"key": "b", "sample": 0, "response": "rain and", "finish_reason": "length"},
    ]  # fmt: skip
    write_jsonl(run / "responses.jsonl", rows)
    sft = tmp_path / "sft.jsonl"
    assert adhere("make-sft", run, "--out", sft).returncode == 0
    assert [r["messages"][1]["content"] for r in read_jsonl(sft)] == ["hi there"]


def test_pairs_of_a_run_with_the_greedy_answer_reject_it_where_it_is_worse(run, tmp_path):
    """a: greedy fails, and a sample fails worse: the greedy answer is still the rejected one;
    b: greedy passes but is cut off; c: greedy passes and is complete, so it is chosen."""
    rows = read_jsonl(run / "responses.jsonl")
    rows[0]["candidates"] = [candidate("hi, there", 0.5, "greedy", finish_reason="stop"),
                             candidate("hi there", 1.0, "sample 0", finish_reason="stop"),
                             candidate("hi, there, you", 0.0, "sample 1", finish_reason="stop")]  # fmt: skip
    rows[1]["candidates"] = [candidate("rain and rain and", 1.0, "greedy", finish_reason="length"),
                             candidate("rain falls", 1.0, "sample 0", finish_reason="stop"),
                             candidate("rain, more", 0.0, "sample 1", finish_reason="stop")]  # fmt: skip
    rows[3] = {"key": "d", "sample": 0, "response": "one two three", "candidates": [
        candidate("one two three", 1.0, "greedy", finish_reason="stop"),
        candidate("one, two", 0.0, "sample 0", finish_reason="stop")]}  # fmt: skip
    write_jsonl(run / "responses.jsonl", [rows[0], rows[1], rows[3]])
    pairs = tmp_path / "pairs.jsonl"
    assert adhere("make-pairs", run, "--out", pairs).returncode == 0
    got = {p["prompt"][0]["content"]: (p["chosen"][0]["content"], p["rejected"][0]["content"]) for p in read_jsonl(pairs)}
    assert got == {"Say hi without commas.": ("hi there", "hi, there"),
                   "Describe rain without commas.": ("rain falls", "rain and rain and"),
                   "Count to three without commas.": ("one two three", "one, two")}  # fmt: skip
    card = json.loads((tmp_path / "pairs.card.json").read_text())
    assert card["pairs_rejecting_greedy"] == 2 and card["pairs_complete_over_cut_off"] == 1


def test_cut_off_answers_ended_where_they_start_repeating(run, tmp_path):
    """a: the greedy answer loops until the limit; its ending passes, so it is the SFT row and the
    pair rejects the loop. b: the only answer loops and its ending still has a comma: --repair edits
    the ending, and the pair rejects the cut-off answer the model gave, not the ending."""
    line = "Hello there my good friend and welcome to this place."
    rain = "Rain falls softly on the roofs, and the streets shine at night."
    rows = read_jsonl(run / "responses.jsonl")
    rows[0]["candidates"] = [candidate(f"{line}\n{line}\n{line}\nHello", 1.0, "greedy", finish_reason="length"),
                             candidate("hi, there", 0.0, "sample 0", finish_reason="stop")]  # fmt: skip
    rows[1]["candidates"] = [candidate(f"{rain} {rain} {rain} Rain", 0.0, "sample 0", finish_reason="length")]
    write_jsonl(run / "responses.jsonl", [rows[0], rows[1]])
    sft, pairs = tmp_path / "sft.jsonl", tmp_path / "pairs.jsonl"
    assert adhere("make-sft", run, "--out", sft).returncode == 0
    assert read_jsonl(sft) == []  # without --end-cut-off a cut-off answer is never trained towards

    assert adhere("make-sft", run, "--out", sft, "--repair", "--end-cut-off").returncode == 0
    got = {r["messages"][0]["content"]: (r["messages"][1]["content"], r["provenance"]["origin"]) for r in read_jsonl(sft)}
    assert got == {"Say hi without commas.": (line, "ending of greedy"),
                   "Describe rain without commas.": (rain.replace(",", ""), "repair of ending of sample 0")}  # fmt: skip
    card = json.loads((tmp_path / "sft.card.json").read_text())
    assert card["ended"] == 2 and card["rows_from_endings"] == 2 and card["end_cut_off"] is True

    both = adhere("make-pairs", run, "--out", pairs, "--end-cut-off", "--keep-cut-off")
    assert both.returncode == 2 and "pass one of the two" in both.stderr and len(both.stderr.strip().splitlines()) == 1
    assert adhere("make-pairs", run, "--out", pairs, "--repair", "--end-cut-off").returncode == 0
    got = {p["prompt"][0]["content"]: (p["chosen"][0]["content"], p["rejected"][0]["content"]) for p in read_jsonl(pairs)}
    assert got == {"Say hi without commas.": (line, f"{line}\n{line}\n{line}\nHello"),
                   "Describe rain without commas.": (rain.replace(",", ""), f"{rain} {rain} {rain} Rain")}  # fmt: skip


def test_an_answer_cut_off_right_after_a_sentence_is_never_paired_with_its_ending(run, tmp_path):
    """a: the greedy answer passes but the limit fell just after a full stop, so its ending is the
    same text: no pair of it with itself, the failing sample is rejected instead. b: the only other
    answer is that same text: no pair at all. The SFT row still takes the ending."""
    said = "Rain falls softly on the roofs and the streets shine at night."
    rows = read_jsonl(run / "responses.jsonl")
    rows[0]["candidates"] = [candidate(said, 1.0, "greedy", finish_reason="length"),
                             candidate("hi, there", 0.0, "sample 0", finish_reason="stop")]  # fmt: skip
    rows[1]["candidates"] = [candidate(said, 1.0, "greedy", finish_reason="length")]
    write_jsonl(run / "responses.jsonl", [rows[0], rows[1]])
    pairs, sft = tmp_path / "pairs.jsonl", tmp_path / "sft.jsonl"
    assert adhere("make-pairs", run, "--out", pairs, "--end-cut-off").returncode == 0
    got = [(p["prompt"][0]["content"], p["chosen"][0]["content"], p["rejected"][0]["content"]) for p in read_jsonl(pairs)]
    assert got == [("Say hi without commas.", said, "hi, there")]
    assert adhere("make-sft", run, "--out", sft, "--end-cut-off").returncode == 0
    assert [r["provenance"]["origin"] for r in read_jsonl(sft)] == ["ending of greedy", "ending of greedy"]


LOOP = "Rain falls on the town. " + "It is a way to share the rain with others. " * 6


def test_repetition_is_the_share_of_repeated_word_four_grams():
    from adhere.improve.repair import repetition

    assert repetition("one two three four five six") == 0.0
    assert repetition("too short") == 0.0
    assert repetition("a b c d a b c d") == pytest.approx(1 - 4 / 5)  # (a b c d) repeats; 5 grams, 4 distinct
    assert repetition(LOOP) > 0.7


def test_answers_that_repeat_themselves_are_left_out_above_max_repetition(run, tmp_path):
    """a: the passing sample loops, the other fails (and repairs into a row that does not loop);
    b: the only passing answer loops, so no row; pairs reject the loop in place of a lower score."""
    rows = read_jsonl(run / "responses.jsonl")
    rows[0]["candidates"] = [candidate("hi, there friend", 0.0, "sample 0"), candidate(LOOP, 1.0, "sample 1")]
    rows[1]["candidates"] = [candidate(LOOP.replace("town", "sea"), 1.0, "sample 0"),
                             candidate(LOOP.replace("town", "sea"), 1.0, "sample 1")]  # fmt: skip
    write_jsonl(run / "responses.jsonl", [rows[0], rows[1]])
    sft, pairs = tmp_path / "sft.jsonl", tmp_path / "pairs.jsonl"

    assert adhere("make-sft", run, "--out", sft).returncode == 0  # by default the loops are rows
    assert len(read_jsonl(sft)) == 2

    result = adhere("make-sft", run, "--out", sft, "--repair", "--max-repetition", "0.25")
    assert result.returncode == 0, result.stderr
    rows = read_jsonl(sft)
    assert [(r["messages"][1]["content"], r["provenance"]["origin"]) for r in rows] == [
        ("hi there friend", "repair of sample 0")]  # fmt: skip
    card = json.loads((tmp_path / "sft.card.json").read_text())
    assert card["max_repetition"] == 0.25 and card["repetitive_candidates"] == 3
    assert card["rejected_all_cut_off_or_repetitive"] == 1

    assert adhere("make-pairs", run, "--out", pairs, "--repair", "--max-repetition", "0.25").returncode == 0
    (pair,) = read_jsonl(pairs)
    assert pair["chosen"][0]["content"] == "hi there friend" and pair["rejected"][0]["content"] == "hi, there friend"


def test_a_pair_rejects_a_looping_answer_that_passes(run, tmp_path):
    rows = read_jsonl(run / "responses.jsonl")
    rows[0]["candidates"] = [candidate("hi there friend", 1.0, "sample 0"), candidate(LOOP, 1.0, "sample 1")]
    write_jsonl(run / "responses.jsonl", [rows[0]])
    pairs = tmp_path / "pairs.jsonl"
    assert adhere("make-pairs", run, "--out", pairs).returncode == 0 and read_jsonl(pairs) == []  # both pass
    assert adhere("make-pairs", run, "--out", pairs, "--max-repetition", "0.25").returncode == 0
    (pair,) = read_jsonl(pairs)
    assert pair["chosen"][0]["content"] == "hi there friend" and pair["rejected"][0]["content"] == LOOP


def test_only_looping_answers_pass_warns_why_there_are_no_rows(run, tmp_path):
    rows = read_jsonl(run / "responses.jsonl")
    rows[0]["candidates"] = [candidate(LOOP, 1.0, "sample 0")]
    write_jsonl(run / "responses.jsonl", [rows[0]])
    result = adhere("make-sft", run, "--out", tmp_path / "sft.jsonl", "--max-repetition", "0.25")
    assert result.returncode == 0 and read_jsonl(tmp_path / "sft.jsonl") == []
    assert ("warning: no rows: the answers that passed repeat themselves above max_repetition 0.25 (1 of 1 "
            "answers); raise it or answer more prompts") in " ".join(result.stderr.split())


@pytest.mark.parametrize("value", ["1", "-0.1", "1.5"])
def test_max_repetition_out_of_range_is_one_line_before_any_work(run, tmp_path, value):
    out = tmp_path / "sft.jsonl"
    result = adhere("make-sft", run, "--out", out, "--max-repetition", value)
    assert result.returncode == 2 and not out.exists()
    assert f"max_repetition is a share of repeated word 4-grams, from 0 up to (not including) 1; got {float(value)}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
