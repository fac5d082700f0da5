"""`adhere synth`: seeded verifiable prompts, the built-in seeds, decontamination, the data card."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from adhere import build, conflicts
from adhere.constraints.rows import constraints_of
from adhere.synth.decontaminate import decontaminate
from adhere.synth.seeds import builtin_seeds
from adhere.synth.synthesize import SynthConfig, synthesize, write_prompts
from tests.conftest import IFBENCH, IFEVAL, read_jsonl, write_jsonl


def eval_pairs():
    rows = read_jsonl(IFEVAL / "input_data.jsonl") + read_jsonl(IFBENCH / "IFBench_test.jsonl")
    return [(str(r["key"]), r["prompt"]) for r in rows]


def test_synthesis_is_seeded_valid_and_compatible():
    config = SynthConfig(count=300, seed=5, min_constraints=1, max_constraints=3, skill_mix=True)
    rows = synthesize(config, builtin_seeds())
    assert rows == synthesize(config, builtin_seeds())
    assert rows != synthesize(SynthConfig(count=300, seed=6, skill_mix=True), builtin_seeds())
    assert len({r["key"] for r in rows}) == 300
    for line, row in enumerate(rows, start=1):
        ids, constraints = constraints_of(row, f"row {line}")
        assert 1 <= len(ids) <= 3 and conflicts(list(ids)) == []
        for constraint in constraints:
            assert constraint.describe() in row["prompt"]
        assert row["prompt"].startswith(row["source"]["task"]) and len(row["source"]["skills"]) == 2
    assert {len(r["instruction_id_list"]) for r in rows} == {1, 2, 3}


def test_the_builtin_seeds_are_many_and_not_from_the_benchmarks():
    seeds = builtin_seeds()
    assert len(seeds) >= 300 and len(set(seeds)) == len(seeds)
    rows = [{"key": i, "prompt": s, "source": {"task": s}} for i, s in enumerate(seeds)]
    # Down to 7 words no seed shares a phrase with IFEval or IFBench; at 6, generic phrases such
    # as "write a short blog post about" start to match, which is why the default is 8.
    kept, dropped = decontaminate(rows, eval_pairs(), n=7)
    assert dropped == [] and len(kept) == len(seeds)


def test_decontamination_drops_a_planted_benchmark_task():
    planted = read_jsonl(IFEVAL / "input_data.jsonl")[10]["prompt"].split(".")[0]
    seeds = ["Explain how tides work.", planted]
    rows = synthesize(SynthConfig(count=40, seed=1), seeds)
    kept, dropped = decontaminate(rows, eval_pairs())
    assert dropped and all(d["overlaps"] for d in dropped)
    assert {r["source"]["task"] for r in kept} == {"Explain how tides work."}
    assert len(kept) + len(dropped) == 40


def test_instruction_sentences_alone_are_not_contamination():
    rows = synthesize(SynthConfig(count=50, seed=2), ["Explain how tides work."])
    kept, dropped = decontaminate(rows, eval_pairs())
    assert dropped == [] and len(kept) == 50


def adhere(*args):
    return subprocess.run([sys.executable, "-m", "adhere.cli", *map(str, args)], capture_output=True, text=True)


def test_cli_writes_prompts_and_their_card(tmp_path):
    out = tmp_path / "synth.jsonl"
    seeds = write_jsonl(tmp_path / "seeds.jsonl", [{"task": "Explain how tides work."},
                                                   {"prompt": read_jsonl(IFEVAL / "input_data.jsonl")[3]["prompt"]}])  # fmt: skip
    result = adhere("synth", "--count", 60, "--seeds", seeds, "--out", out,
                    "--decontaminate", IFEVAL / "input_data.jsonl")  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = read_jsonl(out)
    card = json.loads((tmp_path / "synth.card.json").read_text())
    assert card["coverage"]["rows"] == len(rows) and card["decontamination"]["dropped"] == 60 - len(rows) > 0
    assert sum(card["coverage"]["per_instruction_id"].values()) == sum(len(r["instruction_id_list"]) for r in rows)
    assert "dropped" in result.stderr
    # The rows are IFEval inputs: `adhere score` pairs responses with them.
    responses = write_jsonl(tmp_path / "r.jsonl", [{"key": r["key"], "prompt": r["prompt"], "response": "ok"} for r in rows])
    assert adhere("score", responses, "--inputs", out, "--quiet").returncode == 0
    for row in rows:
        for cid, kwargs in zip(row["instruction_id_list"], row["kwargs"]):
            build(cid, kwargs)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--count", "0"], "--count must be at least 1"),
        (["--min-constraints", "3", "--max-constraints", "2"], "--min-constraints"),
        (["--ngram", "1"], "--ngram"),
        (["--require", "punctuation:no_comma", "--require", "detectable_format:json_format"],
         "cannot be satisfied together (IFEval's conflict table): punctuation:no_comma with detectable_format:json_format"),
        (["--ids", "keywords:existence,no:such"], "constraint id 'no:such' cannot be sampled"),
        (["--require", "detectable_format:constrained_response"], "'detectable_format:constrained_response' cannot be sampled"),
        (["--require", "punctuation:no_comma", "--require", "keywords:existence", "--max-constraints", "1"],
         "2 required constraints do not fit"),
        (["--weight", "change_case:english_lowercase:4"], "--weight takes ID=W"),
        (["--ids", "keywords:existence", "--weight", "punctuation:no_comma=3"], "which the ids drawn from leave out"),
    ],
)
def test_bad_options_are_one_line(tmp_path, args, message):
    result = adhere("synth", "--out", tmp_path / "x.jsonl", *args)
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.jsonl").exists()


def test_ids_and_required_constraints():
    config = SynthConfig(count=200, seed=1, max_constraints=3, ids=("keywords:existence", "detectable_format:title",
                         "startend:quotation"), require=("punctuation:no_comma",))  # fmt: skip
    rows = synthesize(config, builtin_seeds())
    for row in rows:
        ids = row["instruction_id_list"]
        assert ids[0] == "punctuation:no_comma" and len(set(ids)) == len(ids)
        assert set(ids[1:]) <= {"keywords:existence", "detectable_format:title", "startend:quotation"}
    assert {len(r["instruction_id_list"]) for r in rows} == {1, 2, 3}


def test_weighted_ids_fill_more_prompts_and_the_card_says_so(tmp_path):
    repeat = "combination:repeat_prompt"
    config = SynthConfig(count=300, seed=4, weights=((repeat, 8.0),))
    kept, _, card = write_prompts(config, builtin_seeds(), "builtin", tmp_path / "p.jsonl")
    weighted = sum(repeat in r["instruction_id_list"] for r in kept)
    plain = sum(repeat in r["instruction_id_list"] for r in synthesize(SynthConfig(count=300, seed=4), builtin_seeds()))
    assert plain < 40 and weighted > 2.5 * plain
    assert json.loads(card.read_text())["config"]["weights"] == {repeat: 8.0}


def test_repeating_the_request_quotes_the_prompt_before_it():
    rows = synthesize(SynthConfig(count=600, seed=3), builtin_seeds())
    repeats = [r for r in rows if "combination:repeat_prompt" in r["instruction_id_list"]]
    assert 10 <= len(repeats) <= 60  # one id among 24, drawn like the others
    for row in repeats:
        ids, constraints = constraints_of(row, row["key"])
        repeat = constraints[ids.index("combination:repeat_prompt")]
        request, sentence = row["prompt"].rsplit("\n", 1)
        assert repeat.prompt_to_repeat == request and sentence == repeat.describe()
        assert request.startswith(row["source"]["task"]) and "repeat the request" not in request
        for other in constraints:
            if other is not repeat:
                assert other.describe() in request
        answer = f"{request}\n\nHere is my answer."
        assert repeat.check(answer).passed and not repeat.check("Here is my answer.").passed


def test_a_bad_seed_row_names_its_line(tmp_path):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text('{"task": "Explain tides."}\n{"text": 3}\n')
    result = adhere("synth", "--seeds", seeds, "--out", tmp_path / "x.jsonl")
    assert result.returncode == 2 and f"{seeds}:2" in result.stderr
