"""``adhere report`` on real run folders: numbers, comparisons, bad input, interrupted runs."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from adhere.bench.scoring import score
from tests.conftest import IFBENCH, IFEVAL, read_jsonl, write_jsonl

GPT4_INPUTS = IFEVAL / "input_data_gpt4_20231107_145030.jsonl"
GPT4_RESPONSES = IFEVAL / "input_response_data_gpt4_20231107_145030.jsonl"


def adhere(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "adhere.cli", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path]:
    """GPT-4's responses, and the same with every third response cut to its first line."""
    root = tmp_path_factory.mktemp("runs")
    score(GPT4_RESPONSES, GPT4_INPUTS, out=root / "gpt4")
    rows = read_jsonl(GPT4_RESPONSES)
    for i, row in enumerate(rows):
        if i % 3 == 0:
            row["response"] = row["response"].split("\n")[0]
    cut = write_jsonl(root / "cut.jsonl", rows)
    score(cut, GPT4_INPUTS, out=root / "gpt4-cut")
    return root / "gpt4", root / "gpt4-cut"


def test_report_compares_two_runs_with_the_numbers_of_their_verdicts(two_runs, tmp_path):
    base, cut = two_runs
    result = adhere("report", base, cut, "--out", tmp_path / "r.html", "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    assert "gpt4-cut - gpt4 on 541 shared prompts" in result.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    a, b = (read_jsonl(run / "verdicts.jsonl") for run in two_runs)
    only_a = sum(x["strict"]["follow_all_instructions"] and not y["strict"]["follow_all_instructions"] for x, y in zip(a, b))
    only_b = sum(y["strict"]["follow_all_instructions"] and not x["strict"]["follow_all_instructions"] for x, y in zip(a, b))
    strict = report["comparisons"][0]["metrics"]["prompt_level_strict"]
    assert strict["mcnemar"]["only_a"] == only_a and strict["mcnemar"]["only_b"] == only_b and only_a > 20
    assert strict["delta"] == pytest.approx((only_b - only_a) / 541)
    assert strict["p_bootstrap"] < 0.05 and strict["interval"][1] < 0
    # The headline numbers are those of summary.json, intervals included.
    summary = json.loads((base / "summary.json").read_text())
    assert report["runs"][0]["accuracy"] == summary["accuracy"]
    assert report["runs"][0]["confidence_intervals"] == summary["confidence_intervals"]
    page = (tmp_path / "r.html").read_text()
    assert page.count('class="failure"') == sum(
        not (r["strict"]["follow_all_instructions"] and r["loose"]["follow_all_instructions"]) for r in a + b
    )


def test_the_page_needs_no_network(two_runs, tmp_path):
    assert adhere("report", *two_runs, "--out", tmp_path / "r.html").returncode == 0
    page = (tmp_path / "r.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page
    assert page.startswith("<!DOCTYPE html>") and "<script>" in page


def test_runs_of_different_benchmarks_are_refused(two_runs, tmp_path):
    score(IFBENCH / "sample_output.jsonl", IFBENCH / "IFBench_test.jsonl", benchmark="ifbench", out=tmp_path / "ifb")
    result = adhere("report", two_runs[0], tmp_path / "ifb", "--out", tmp_path / "r.html")
    assert result.returncode == 2 and not (tmp_path / "r.html").exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "different benchmarks" in lines[0] and "ifb is ifbench" in lines[0]


def test_runs_with_no_shared_prompts_are_refused(two_runs, tmp_path):
    rows = read_jsonl(GPT4_RESPONSES)[:5]
    inputs = read_jsonl(GPT4_INPUTS)[:5]
    for row in inputs:
        row["key"] = f"other-{row['key']}"
    for row, inp in zip(rows, inputs):
        row.update(inp)
    score(write_jsonl(tmp_path / "other.jsonl", rows), out=tmp_path / "other")
    result = adhere("report", two_runs[0], tmp_path / "other", "--out", tmp_path / "r.html")
    assert result.returncode == 2 and "share no prompts" in result.stderr


def test_not_a_run_directory(tmp_path):
    result = adhere("report", tmp_path, "--out", tmp_path / "r.html")
    assert result.returncode == 2 and "not an adhere run directory" in result.stderr


def eval_run(folder: Path, answered: int, total: int = 12, torn: bool = False, cut_off: int = 0, **config_extra) -> Path:
    """An ``adhere eval`` run folder as the command leaves it after ``answered`` responses."""
    folder.mkdir()
    prompts = write_jsonl(folder.parent / f"{folder.name}-prompts.jsonl", read_jsonl(GPT4_INPUTS)[:total])
    responses = {r["prompt"]: r["response"] for r in read_jsonl(GPT4_RESPONSES)}
    config = {"benchmark": "ifeval", "data": str(prompts), "limit": total, "prompts": total,
              "model": "openai:fake", "generation": {"samples": 1}, **config_extra}  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    rows = [{"key": p["key"], "sample": 0, "response": responses[p["prompt"]], "error": None,
             "finish_reason": "length" if i < cut_off else "stop"}
            for i, p in enumerate(read_jsonl(prompts)[:answered])]  # fmt: skip
    text = "".join(json.dumps(r) + "\n" for r in rows)
    if torn:
        text += '{"key": 99, "sample": 0, "resp'
    (folder / "responses.jsonl").write_text(text)
    return folder


def test_an_interrupted_run_is_reported_as_such_and_left_untouched(tmp_path):
    run = eval_run(tmp_path / "killed", answered=5, torn=True)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in run.iterdir()}
    result = adhere("report", run, "--out", tmp_path / "r.html", "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    assert "killed is incomplete: 5 of 12 responses" in " ".join(result.stdout.split())
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in run.iterdir()}
    assert before == after
    data = json.loads((tmp_path / "r.json").read_text())["runs"][0]
    assert data["complete"] is False and data["prompts"] == 12 and data["missing_responses"] == 7
    assert "incomplete: 5 of 12 responses" in (tmp_path / "r.html").read_text()


def test_a_finished_eval_run_shows_prompts_and_responses(tmp_path):
    run = eval_run(tmp_path / "done", answered=12)
    score(run, out=run)
    result = adhere("report", run, "--out", tmp_path / "r.html", "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "r.json").read_text())["runs"][0]
    assert data["complete"] is True and data["model"] == "openai:fake"
    failure = data["failures"][0]
    assert failure["prompt"] and failure["response"] and failure["instructions"][0]["strict_reason"]


def test_answers_cut_off_at_the_token_limit_are_reported(tmp_path):
    run = eval_run(tmp_path / "short", answered=12, cut_off=4)
    score(run, out=run)
    result = adhere("report", run, "--out", tmp_path / "r.html", "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    line = "short is complete, 4 of 12 answers cut off at the token limit"
    assert line in " ".join(result.stdout.split()) and line.split(" is ")[1] in (tmp_path / "r.html").read_text()
    assert json.loads((tmp_path / "r.json").read_text())["runs"][0]["cut_off"] == 4


def test_a_comparison_says_what_besides_the_model_differs(tmp_path):
    """Other sampling settings, another runtime (another llama.cpp build or CPU: the same weights
    give other greedy answers), a run resumed on another runtime: each is a note under the table."""
    avx512 = {"library": "llama-cpp-python 0.3.36", "system_info": "CPU : AVX2 = 1 | AVX512 = 1 |"}
    avx2 = {**avx512, "system_info": "CPU : AVX2 = 1 |"}
    generation = {"samples": 1, "max_tokens": 256}
    base = eval_run(tmp_path / "base", 12, generation=generation, runtime=avx512)
    same = eval_run(tmp_path / "same", 12, generation=generation, runtime=avx512)
    other = eval_run(tmp_path / "other", 12, generation={**generation, "max_tokens": 1024}, runtime=avx2)
    mixed = eval_run(tmp_path / "mixed", 12, generation=generation, runtime=avx512, earlier_runtimes=[avx2])
    for run in (base, same, other, mixed):
        score(run, out=run)
    result = adhere("report", base, same, other, mixed, "--out", tmp_path / "r.html", "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    notes = {c["b"]: c["notes"] for c in json.loads((tmp_path / "r.json").read_text())["comparisons"]}
    assert notes["same"] == []
    settings, runtimes = notes["other"]
    assert settings == "generation settings differ: max_tokens 256 vs 1024"
    assert runtimes.startswith("made on different runtimes") and runtimes.endswith(": system_info: AVX512=1 vs AVX512=0")
    assert notes["mixed"] == ["this run was resumed on another runtime: its answers come from more than one"]
    shown = " ".join(result.stdout.split())
    assert "note: other vs base: generation settings differ: max_tokens 256 vs 1024" in shown
    page = (tmp_path / "r.html").read_text()
    assert page.count('<p class="note">') == 3 and "max_tokens 256 vs 1024" in page


def test_a_run_resumed_on_another_runtime_keeps_its_answers_and_lists_the_runtimes(tmp_path):
    from adhere.bench.run import RunDir
    from adhere.bench.summary import Summary

    first, second = {"library": "llama-cpp-python 0.3.36", "system_info": "AVX512 = 1"}, {"library": "llama-cpp-python 0.3.37"}
    config = {"benchmark": "ifeval", "model": "local", "generation": {"max_tokens": 8}}
    run = RunDir(tmp_path / "run")
    run.start({**config, "runtime": first})
    run.release()
    # Nothing written yet: the first runtime answered nothing, so it is not listed.
    again = RunDir(tmp_path / "run")
    again.start({**config, "runtime": first})
    again.append({"key": 1, "sample": 0, "response": "hi", "error": None})
    again.release()
    resumed = RunDir(tmp_path / "run")
    resumed.start({**config, "runtime": second})
    assert resumed.earlier_runtimes == [first]
    assert resumed.finished()[(1, 0)]["response"] == "hi"
    resumed.release()
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["runtime"] == second and saved["earlier_runtimes"] == [first]
    # Resumed again on the second runtime: the first stays listed, once.
    RunDir(tmp_path / "run").start({**config, "runtime": second})
    assert json.loads((tmp_path / "run" / "config.json").read_text())["earlier_runtimes"] == [first]
    (warning,) = Summary("ifeval", extra={"earlier_runtimes": 1}).warnings()
    assert warning.startswith("the run was resumed on another runtime (1 other(s)")


def test_the_terminal_table_fits_80_columns_with_every_name_and_number():
    """Long run names once squeezed the name column to nothing and cut the intervals with an ellipsis."""
    from rich.console import Console

    from adhere.report.terminal import print_report

    metrics = ["prompt_level_strict", "instruction_level_strict", "prompt_level_loose", "instruction_level_loose"]
    runs = [
        {"name": name, "prompts": 541, "complete": True, "cut_off": 0, "status": "complete",
         "accuracy": {m: value for m in metrics}, "confidence_intervals": {m: [value - 0.031, value + 0.033] for m in metrics}}
        for name, value in (("base/ifeval-all", 0.183), ("lora-hi/ifeval-all", 0.229))
    ]  # fmt: skip
    console = Console(width=80, record=True)
    print_report({"benchmark": "ifeval", "metrics": metrics, "runs": runs, "comparisons": []}, console)
    text = console.export_text()
    assert max(map(len, text.splitlines())) <= 80 and "…" not in text
    assert text.count("18.3") == 4 and text.count("[15.2, 21.6]") == 4 and text.count("[19.8, 26.2]") == 4
    names = "".join(line.split()[0] for line in text.splitlines() if line.split() and line.split()[0][0].isalpha())
    assert "base/ifeval-all" in names and "lora-hi/ifeval-all" in names


def test_an_eval_summary_warns_when_answers_were_cut_off():
    from adhere.bench.summary import Summary

    cost = {"responses": 541, "cut_off_responses": 309, "max_tokens": 256}
    (warning,) = Summary("ifeval", extra={"cost": cost}).warnings()
    assert warning.startswith("309 of 541 response(s) were cut off at max_tokens 256") and "--max-tokens" in warning
    assert Summary("ifeval", extra={"cost": {**cost, "cut_off_responses": 0}}).warnings() == []


def test_summary_json_carries_the_intervals(two_runs):
    summary = json.loads((two_runs[0] / "summary.json").read_text())
    ci = summary["confidence_intervals"]
    assert ci["method"] == "percentile bootstrap over prompts" and ci["resamples"] == 1000
    for metric, value in summary["accuracy"].items():
        low, high = ci[metric]
        assert low <= value <= high


def _loop_summary(data):
    def run(name, value):
        return {"name": name, "prompts": 10, "accuracy": {"prompt_level_strict": value, "prompt_level_loose": value},
                "confidence_intervals": {"prompt_level_strict": [0.1, 0.3], "prompt_level_loose": [0.1, 0.3]}}  # fmt: skip

    comparison = {"metrics": {m: {"delta": 0.1, "interval": [0.02, 0.2], "p_bootstrap": 0.01, "mcnemar": {"p": 0.02}}
                              for m in ("prompt_level_strict", "prompt_level_loose")}}  # fmt: skip
    benchmarks = {b: {"headline": h, "runs": [run("eval-base", 0.2), run("eval-model", 0.3)], "comparisons": [comparison]}
                  for b, h in (("ifeval", "prompt_level_strict"), ("ifbench", "prompt_level_loose"))}  # fmt: skip
    recipe = {"name": "r", "source": "r.toml", "description": "d", "params": {}, "baseline": "eval-base"}
    return {"recipe": recipe, "model": "local", "benchmarks": benchmarks,
            "stages": {"sft": {"kind": "make-sft", "does": "x", "result": data, "seconds": 1.0}},
            "seconds": {"sft": 1.0}, "total_seconds": 1.0}  # fmt: skip


def test_the_loop_page_shows_how_many_sampled_answers_were_cut_off():
    from adhere.report.html import render_loop_html
    from adhere.report.loop import headline_rows, headline_text

    data = {"rows": 404, "repaired": 239, "candidates": 2000, "cut_off_candidates": 1088, "candidate_pass_rate": 0.2,
            "contamination": {"rows_checked": 404, "overlapping": 0}}  # fmt: skip
    page = render_loop_html(_loop_summary(data))
    assert "cut off 1088 of 2000" in page and "239 repaired" in page and "+10.0 pts" in page
    # The terminal's lines and the page come from the same rows.
    lines = [headline_text(row) for row in headline_rows(_loop_summary(data))]
    assert lines[1] == ("eval-model: ifeval prompt strict 30.0% (+10.0 pts, 95% CI [+2.0, +20.0]); "
                        "ifbench prompt loose 30.0% (+10.0 pts, 95% CI [+2.0, +20.0])")  # fmt: skip
    # A run from before the count existed shows no made-up number.
    older = render_loop_html(_loop_summary({"rows": 658, "repaired": 390}))
    assert "of 2000" not in older and "390 repaired" in older


def test_a_comparison_counts_each_instruction_id_followed_before_and_after(two_runs, tmp_path):
    result = adhere("report", *two_runs, "--out", tmp_path / "r.html", "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    changes = json.loads((tmp_path / "r.json").read_text())["comparisons"][0]["per_id"]
    expected: dict[str, list[int]] = {}
    for side, run in enumerate(two_runs):
        for row in read_jsonl(run / "verdicts.jsonl"):
            for level in ("strict", "loose"):
                for cid, ok in zip(row["instruction_id_list"], row[level]["follow_instruction_list"]):
                    counts = expected.setdefault(cid, [0, 0, 0, 0, 0])
                    counts[2 * side + (level == "loose")] += ok
                    counts[4] += side == 0 and level == "strict"
    got = {e["id"]: [e["a_strict"], e["a_loose"], e["b_strict"], e["b_loose"], e["n"]] for e in changes}
    assert got == expected
    # Largest strict gain first: cutting responses to their first line only loses, so the last is the worst.
    deltas = [e["b_strict"] - e["a_strict"] for e in changes]
    assert deltas == sorted(deltas, reverse=True) and deltas[-1] < -5
    worst = changes[-1]
    named = f"{worst['id']} {worst['a_strict']}→{worst['b_strict']} of {worst['n']}"
    line = next(line for line in result.stdout.splitlines() if line.startswith("per instruction id (strict): "))
    assert f"; down {named}" in line and "fell by more than 5: " in line and named in line.split("fell by")[1]
    assert "<h4>Per instruction id" in (tmp_path / "r.html").read_text()


def _with_changes(summary, per_id, cut_off=(30, 12)):
    for data in summary["benchmarks"].values():
        data["comparisons"][0].update(a="eval-base", b="eval-model", per_id=per_id)
        for run, count in zip(data["runs"], cut_off):
            run["cut_off"] = count
    return summary


def test_the_loop_names_where_a_change_comes_from_and_every_id_that_collapses():
    from adhere.report.html import render_loop_html
    from adhere.report.loop import change_rows, change_text

    def entry(cid, n, strict, loose):
        return {"id": cid, "n": n, "a_strict": strict[0], "b_strict": strict[1], "a_loose": loose[0], "b_loose": loose[1]}

    per_id = [entry("startend:quotation", 41, (0, 14), (0, 14)), entry("startend:end_checker", 26, (9, 11), (9, 12)),
              entry("length_constraints:number_words", 52, (16, 10), (16, 17)),
              entry("length_constraints:number_sentences", 20, (10, 5), (10, 12))]  # fmt: skip
    summary = _with_changes(_loop_summary({"rows": 1}), per_id)
    ifeval, ifbench = change_rows(summary)
    # IFEval in strict: number_words falls by 6 (more than 5: named), number_sentences by 5 (not).
    assert [m["id"] for m in ifeval["fell"]] == ["length_constraints:number_words"]
    assert [(f["id"], f["n"], f["a"], f["b"]) for f in ifeval["families"]] == [
        ("startend", 67, 9, 25), ("length_constraints", 72, 26, 15)]
    assert change_text(ifeval) == (
        "  eval-model vs eval-base, ifeval per instruction id (strict): "
        "up startend:quotation 0→14 of 41, startend:end_checker 9→11 of 26; "
        "down length_constraints:number_words 16→10 of 52, length_constraints:number_sentences 10→5 of 20; "
        "fell by more than 5: length_constraints:number_words 16→10 of 52; "
        "cut off at the token limit: eval-base 30 of 10, eval-model 12 of 10")
    # IFBench's headline is loose: there nothing fell.
    assert ifbench["strictness"] == "loose" and ifbench["fell"] == []
    page = render_loop_html(summary)
    assert "Where the changes come from" in page and "<code>length_constraints:number_words</code> (-6)" in page
    # A summary from before per-id changes were kept has no such section, and no error.
    assert change_rows(_loop_summary({"rows": 1})) == []
    assert "Where the changes come from" not in render_loop_html(_loop_summary({"rows": 1}))


def test_the_per_id_table_shows_each_change_signed_and_no_change_as_0():
    from adhere.report.html import _moves_table

    table = _moves_table([{"id": "x:a", "n": 5, "a": 1, "b": 3, "delta": 2}, {"id": "x:b", "n": 4, "a": 2, "b": 2, "delta": 0},
                          {"id": "x:c", "n": 9, "a": 7, "b": 1, "delta": -6}], "base", "model", "id")  # fmt: skip
    cells = re.findall(r'<td class="num[^"]*">([^<]*)</td></tr>', table)
    assert cells == ["+2", "0", "-6"] and table.count("<tr>") == 4
