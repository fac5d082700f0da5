"""Pairwise judging (AlpacaEval's weighted protocol): the prompt, the order switch, the preference
read from the judge's top log-probabilities, and `adhere eval alpaca-eval` against a judge server
that answers deterministically from the prompt."""

from __future__ import annotations

import gzip
import hashlib
import json
import math

import pytest

from adhere.bench.judging import (
    NoLogprobsError,
    PairwiseJudge,
    chatml_messages,
    fill,
    is_switched,
    match_outputs,
    read_template,  # fmt: skip
)
from adhere.errors import InputError
from tests.bench.test_cli import adhere
from tests.conftest import DATA
from tests.models.test_openai_backend import FaultServer

ALPACA = DATA / "alpaca_eval"

# A judge prompt written for these tests (AlpacaEval's own is read from its package).
TEMPLATE = """<|im_start|>system
You compare two answers.
<|im_end|>
<|im_start|>user
Instruction: {instruction}

Answer m: {output_1}

Answer M: {output_2}

Reply with the letter of the better answer.
<|im_end|>
"""


@pytest.fixture
def template(tmp_path):
    path = tmp_path / "judge.txt"
    path.write_text(TEMPLATE)
    return path


def test_the_switch_is_drawn_from_the_instruction_alone():
    texts = [f"instruction {i}" for i in range(200)]
    draws = [is_switched(t) for t in texts]
    assert draws == [is_switched(t) for t in texts]  # the same every time
    assert 70 < sum(draws) < 130  # about half
    assert [is_switched(t, seed=1) for t in texts] != draws  # the seed matters


def test_placeholders_are_filled_once_in_order_and_chatml_becomes_messages():
    prompt = fill(TEMPLATE, {"instruction": "Name a color.", "output_1": "A", "output_2": "B"})
    assert "Instruction: Name a color.\n\nAnswer m: A\n\nAnswer M: B\n" in prompt
    # AlpacaEval fills one placeholder after another at its first occurrence: one written inside an
    # earlier value is the one filled (kept, for the same prompt bytes as AlpacaEval's).
    quirk = fill(TEMPLATE, {"instruction": "say {output_2}", "output_1": "A", "output_2": "B"})
    assert "Instruction: say B" in quirk and "Answer M: {output_2}" in quirk
    messages = chatml_messages(prompt)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == "You compare two answers."
    assert messages[1]["content"].startswith("Instruction: Name a color.") and messages[1]["content"].endswith("better answer.")
    named = chatml_messages("<|im_start|>system name=example_user\nHi\n<|im_end|>")
    assert named == [{"content": "Hi", "role": "system", "name": "example_user"}]


def test_the_preference_is_read_from_the_top_logprobs_and_mirrored_when_switched():
    judge = PairwiseJudge(TEMPLATE)
    top = [("m", math.log(0.6)), ("M", math.log(0.2)), ("The", math.log(0.1))]
    assert judge.preference(top, switched=False) == pytest.approx(2 - 0.75)
    assert judge.preference(top, switched=True) == pytest.approx(3 - (2 - 0.75))
    assert judge.preference([("M", -0.1)], switched=False) == pytest.approx(2.0)  # "m" absent: probability 0
    assert judge.preference([("The", -0.1)], switched=False) is None  # neither: no preference
    with pytest.raises(NoLogprobsError, match="returned no log-probabilities"):
        judge.preference(None, switched=False)
    messages, switched = judge.request("Name a color.", "red", "blue")
    first, second = ("blue", "red") if switched else ("red", "blue")
    assert f"Answer m: {first}" in messages[1]["content"] and f"Answer M: {second}" in messages[1]["content"]
    assert judge.config.max_tokens == 1 and judge.config.top_logprobs == 5 and judge.config.temperature == 1


def test_templates_and_outputs_are_checked(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("<|im_start|>user\n{instruction} {output_1}\n<|im_end|>")
    with pytest.raises(InputError, match=r"\{output_2\} exactly once \(found 0\)"):
        read_template(bad)
    plain = tmp_path / "plain.txt"
    plain.write_text("{instruction} {output_1} {output_2}")
    with pytest.raises(InputError, match="must be ChatML"):
        read_template(plain)
    refs = [{"instruction": "a", "output": "x"}, {"instruction": "b", "output": "y"}]
    assert [r["output"] for r in match_outputs(refs, [{"instruction": "b", "output": "2"},
                                                      {"instruction": "a", "output": "1"}], "f")] == ["1", "2"]  # fmt: skip
    with pytest.raises(InputError, match="f: no output for 1 of the 2 instructions .first: 'b'"):
        match_outputs(refs, [{"instruction": "a", "output": "1"}], "f")
    with pytest.raises(InputError, match="1 output.s. for instructions not in the reference .first: 'c'"):
        match_outputs(refs, [{"instruction": c, "output": "1"} for c in "abc"], "f")
    with pytest.raises(InputError, match="output 1 repeats an instruction"):
        match_outputs(refs, [{"instruction": "a", "output": "1"}] * 2, "f")


def _files(tmp_path, n=8):
    references = json.loads((ALPACA / "reference_outputs.json").read_text())[:n]
    judged = json.load(gzip.open(ALPACA / "annotations" / "alpaca-7b.json.gz", "rt"))[:n]
    outputs = [{"instruction": r["instruction"], "output": r["output_2"], "generator": "alpaca-7b"} for r in judged]
    outputs[3]["output"] = references[3]["output"]  # the same as the reference's: a draw, no call
    ref_path, out_path = tmp_path / "reference.json", tmp_path / "outputs.json"
    ref_path.write_text(json.dumps(references))
    out_path.write_text(json.dumps(outputs[::-1]))  # in another order: matched by instruction
    return references, outputs, ref_path, out_path


def _expected(request_body):
    digest = hashlib.sha256(json.dumps(request_body["messages"], sort_keys=True).encode()).digest()
    return (int.from_bytes(digest[:4], "big") % 999 + 1) / 1000  # P("m") of tests/models/fault_server.py's judge


def test_eval_alpaca_eval_judges_given_outputs(tmp_path, template):
    references, outputs, ref_path, out_path = _files(tmp_path)
    server = FaultServer(tmp_path, [{"judge": ["m", "M"]}])
    try:
        run = tmp_path / "run"
        done = adhere("eval", "alpaca-eval", "--judge", "openai:judge", "-J", f"base_url={server.url}",
                      "--outputs", out_path, "--reference", ref_path, "--judge-template", template,
                      "--out-dir", run, "--no-cache")  # fmt: skip
        assert done.returncode == 0, done.stderr
        requests = server.requests()
    finally:
        server.kill()
    assert len(requests) == 7  # the identical pair is a draw without a call
    rows = json.loads((run / "annotations.json").read_text())
    assert [r["instruction"] for r in rows] == [r["instruction"] for r in references]
    assert rows[3]["preference"] == 1.5 and rows[3]["raw_completion"] is None
    by_instruction = {}
    for request in requests:
        body = request["body"]
        assert body["max_tokens"] == 1 and body["temperature"] == 1 and body["logprobs"] is True
        assert body["top_logprobs"] == 5 and "seed" not in body
        by_instruction[body["messages"][1]["content"].split("\n")[0].removeprefix("Instruction: ")] = body
    for row, ref, out in zip(rows, references, outputs):
        if row["preference"] == 1.5 and row["raw_completion"] is None:
            continue
        body = by_instruction[ref["instruction"].split("\n")[0]]
        switched = is_switched(ref["instruction"])
        assert row["is_switched_outputs"] == switched
        first, second = (out["output"], ref["output"]) if switched else (ref["output"], out["output"])
        assert f"Answer m: {first}" in body["messages"][1]["content"]
        assert f"Answer M: {second}" in body["messages"][1]["content"]
        shown = 2 - _expected(body)  # P(m) / (P(m) + P(M)) = p
        assert row["preference"] == pytest.approx(3 - shown if switched else shown, abs=1e-12)
        assert row["generator_1"] == "gpt4_1106_preview" and row["generator_2"] == "alpaca-7b"
    result = json.loads((run / "winrate.json").read_text())
    assert result["n_total"] == 8 and result["failed_judgments"] == 0
    assert result["win_rate"] == pytest.approx(100 * sum(r["preference"] - 1 for r in rows) / 8)
    assert "win rate" in done.stdout and "adhere winrate" in done.stderr
    again = adhere("winrate", run / "annotations.json", "--json")  # the file reads back as AlpacaEval's
    assert again.returncode == 0 and json.loads(again.stdout)["win_rate"] == pytest.approx(result["win_rate"])


def test_eval_alpaca_eval_bad_judges_and_inputs(tmp_path, template):
    _, outputs, ref_path, out_path = _files(tmp_path, n=4)
    short = tmp_path / "short.json"
    short.write_text(json.dumps(outputs[:3]))
    base = ["eval", "alpaca-eval", "--reference", ref_path, "--judge-template", template, "--no-cache"]
    missing = adhere(*base, "--judge", "openai:judge", "--outputs", short, "--out-dir", tmp_path / "a")
    assert missing.returncode == 2 and "no output for 1 of the 4 instructions" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    no_judge = adhere(*base, "--outputs", out_path)
    assert no_judge.returncode == 2 and "needs --judge SPEC" in no_judge.stderr
    wrong = adhere("eval", "ifeval", "--judge", "local", "--limit", "1")
    assert wrong.returncode == 2 and "--judge apply to alpaca-eval" in wrong.stderr
    server = FaultServer(tmp_path, [{"status": 200}])  # answers, but without log-probabilities
    try:
        plain = adhere(*base, "--judge", "openai:judge", "-J", f"base_url={server.url}", "--outputs", out_path,
                       "--out-dir", tmp_path / "b")  # fmt: skip
        assert plain.returncode == 2 and "returned no log-probabilities" in plain.stderr
        assert "Traceback" not in plain.stderr
        server.set_actions([{"judge": []}])  # top tokens hold neither "m" nor "M"
        neither = adhere(*base, "--judge", "openai:judge", "-J", f"base_url={server.url}", "--outputs", out_path,
                         "--out-dir", tmp_path / "c")  # fmt: skip
        assert neither.returncode == 1 and "judgment(s) failed" in neither.stderr
        rows = json.loads((tmp_path / "c" / "annotations.json").read_text())
        assert all(r["preference"] is None and "among the judge's top tokens" in r["error"] for r in rows if r["raw_completion"])
    finally:
        server.kill()


# --- requirement judges and judge-check -------------------------------------------------------

IFEVAL = DATA / "ifeval"


def test_the_requirement_judge_reads_yes_no_and_its_probability():
    from adhere.bench.requirements import RequirementJudge, auroc, wilson

    judge = RequirementJudge()
    content = judge.messages("Write {response} twice.", "a {requirement} b", "Use no commas.")[0]["content"]
    assert "Write {response} twice." in content and "a {requirement} b" in content  # values are not filled again
    assert content.count("Use no commas.") == 1
    assert judge.read("YES, it has none.", None) == (True, None)
    assert judge.read("**No** - there are commas", None) == (False, None)
    assert judge.read("Maybe.", None) == (None, None)
    met, p = judge.read("Yes", [("Yes", math.log(0.3)), ("No", math.log(0.1)), (" yes", math.log(0.1))])
    assert met is True and p == pytest.approx(0.8)
    assert judge.read("NO", [("The", -0.1)]) == (False, None)
    with pytest.raises(InputError, match=r"\{requirement\} exactly once"):
        RequirementJudge(template="{request} {response}")
    assert auroc([0.9, 0.8, 0.3, 0.1], [True, True, False, False]) == 1.0
    assert auroc([0.5, 0.5], [True, False]) == 0.5 and auroc([0.2], [True]) is None
    low, high = wilson(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)


def test_judge_check_compares_the_judge_with_the_verifiers(tmp_path):
    responses = IFEVAL / "input_response_data_gpt4_20231107_145030.jsonl"
    inputs = IFEVAL / "input_data_gpt4_20231107_145030.jsonl"
    scored = tmp_path / "scored"
    assert adhere("score", responses, "--inputs", inputs, "--out-dir", scored).returncode == 0
    truth = {}
    for line, row in zip(range(12), (scored / "verdicts.jsonl").read_text().splitlines()):
        verdict = json.loads(row)
        for index, followed in enumerate(verdict["strict"]["follow_instruction_list"]):
            truth[(verdict["key"], index)] = followed
    server = FaultServer(tmp_path, [{"yes_no": True}])
    try:
        out = tmp_path / "check"
        done = adhere("judge-check", responses, "--inputs", inputs, "--judge", "openai:judge",
                      "-J", f"base_url={server.url}", "--limit", "12", "--out-dir", out, "--no-cache")  # fmt: skip
        assert done.returncode == 0, done.stderr
        requests = server.requests()
    finally:
        server.kill()
    rows = [json.loads(line) for line in (out / "judgments.jsonl").read_text().splitlines()]
    assert len(rows) == len(requests) == len(truth)
    assert all(truth[(r["key"], r["index"])] == r["truth"] for r in rows)  # the verifiers' strict verdicts
    from adhere.constraints.registry import build

    first = json.loads(inputs.read_text().splitlines()[0])
    assert rows[0]["requirement"] == build(first["instruction_id_list"][0], first["kwargs"][0]).describe()
    assert all(body["body"]["top_logprobs"] == 5 and body["body"]["temperature"] == 0 for body in requests)
    result = json.loads((out / "judge_check.json").read_text())
    overall = result["overall"]
    agree = sum(r["met"] == r["truth"] for r in rows)
    assert overall["agreement"]["value"] == pytest.approx(agree / len(rows))
    assert overall["true_met"] == sum(r["met"] and r["truth"] for r in rows)
    assert overall["auroc"] is not None and overall["auroc_n"] == len(rows)
    assert set(result["by_instruction_id"]) == {r["instruction_id"] for r in rows}
    assert "against the verifiers" in done.stdout and "AUROC" in done.stderr


def test_judge_check_without_verdicts_and_bad_input(tmp_path):
    responses = IFEVAL / "input_response_data_gpt4_20231107_145030.jsonl"
    inputs = IFEVAL / "input_data_gpt4_20231107_145030.jsonl"
    server = FaultServer(tmp_path, [{"status": 200}])  # answers "echo: ...": neither YES nor NO
    try:
        done = adhere("judge-check", responses, "--inputs", inputs, "--judge", "openai:judge", "-J",
                      f"base_url={server.url}", "--limit", "2", "--out-dir", tmp_path / "c", "--no-cache", "--json")  # fmt: skip
    finally:
        server.kill()
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["overall"]["no_verdict"] == result["overall"]["questions"] > 0
    assert result["overall"]["agreement"]["value"] is None and result["overall"]["auroc"] is None
    bad = adhere("judge-check", responses, "--inputs", inputs, "--judge", "local", "--limit", "0")
    assert bad.returncode == 2 and "--limit must be a positive" in bad.stderr
    template = tmp_path / "t.txt"
    template.write_text("{request} {response}")
    bad = adhere("judge-check", responses, "--inputs", inputs, "--judge", "local", "--template", template)
    assert bad.returncode == 2 and "{requirement} exactly once" in bad.stderr


def test_eval_requirements_judges_each_requirement_and_scores_drfr(tmp_path):
    rows = [
        {"key": "a", "prompt": "Write a haiku about rain.", "requirements": ["It is a haiku.", "It is about rain."]},
        {"key": "b", "instruction": "Summarize the text.", "input": "Rain fell all day.",
         "decomposed_questions": ["Is it a summary?", "Is it one sentence?", "Does it mention rain?"]},
        {"key": "c", "prompt": "Say hi in French, in lowercase."},  # no list: decomposed first
    ]  # fmt: skip
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    server = FaultServer(tmp_path, [{"yes_no": True}])
    try:
        run = tmp_path / "run"
        done = adhere("eval", "requirements", "--data", data, "--model", "openai:m", "-M", f"base_url={server.url}",
                      "--judge", "openai:j", "-J", f"base_url={server.url}", "--out-dir", run, "--no-cache")  # fmt: skip
        assert done.returncode == 0, done.stderr
    finally:
        server.kill()
    decomposition = [json.loads(line) for line in (run / "decomposition.jsonl").read_text().splitlines()]
    assert [d["key"] for d in decomposition] == ["c"] and decomposition[0]["requirements"]
    judgments = [json.loads(line) for line in (run / "judgments.jsonl").read_text().splitlines()]
    verdicts = {json.loads(line)["key"]: json.loads(line) for line in (run / "verdicts.jsonl").read_text().splitlines()}
    assert verdicts["b"]["requirements"] == rows[1]["decomposed_questions"]
    for key, verdict in verdicts.items():
        mine = sorted((j for j in judgments if j["key"] == key), key=lambda j: j["index"])
        assert verdict["strict"]["follow_instruction_list"] == [j["met"] for j in mine]
    summary = json.loads((run / "summary.json").read_text())
    met = sum(j["met"] for j in judgments)
    assert summary["requirements"] == len(judgments) == 2 + 3 + len(decomposition[0]["requirements"])
    # DRFR is the instruction-level accuracy; "every requirement met" the prompt-level one.
    assert summary["accuracy"]["instruction_level_strict"] == pytest.approx(met / len(judgments))
    all_met = sum(v["strict"]["follow_all_instructions"] for v in verdicts.values())
    assert summary["accuracy"]["prompt_level_strict"] == pytest.approx(all_met / 3)
    assert summary["confidence_intervals"]["instruction_level_strict"] is not None
    report = adhere("report", run, "--out", tmp_path / "report.html")
    assert report.returncode == 0, report.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt": "x", "requirements": "not a list"}) + "\n")
    wrong = adhere("eval", "requirements", "--data", bad, "--judge", "local")
    assert wrong.returncode == 2 and "'requirements' must be a non-empty list" in wrong.stderr


def test_self_judge_records_confidence_and_reports_coverage_against_accuracy(tmp_path):
    server = FaultServer(tmp_path, [{"yes_no": True}])  # answers YES/NO; as a self-judge, P(YES) from the prompt
    try:
        run = tmp_path / "run"
        done = adhere("eval", "ifeval", "--data", IFEVAL / "input_data.jsonl", "--limit", "12", "--model", "openai:m",
                      "-M", f"base_url={server.url}", "--strategy", "self-judge:0.6", "--out-dir", run, "--no-cache")  # fmt: skip
        assert done.returncode == 0, done.stderr
        requests = [r["body"] for r in server.requests()]
    finally:
        server.kill()
    judging = [b for b in requests if b.get("top_logprobs")]
    assert len(judging) == 12 and all(b["max_tokens"] == 1 and b["temperature"] == 0 for b in judging)
    rows = [json.loads(line) for line in (run / "responses.jsonl").read_text().splitlines()]
    for row in rows:
        assert 0 < row["confidence"] < 1 and row["confidence_from"] == "logprobs"
        assert row["abstained"] == (row["confidence"] < 0.6) and row["strategy"] == "self-judge:0.6"
    summary = json.loads((run / "summary.json").read_text())["self_judge"]
    assert summary["prompts"] == 12 and summary["abstained"] == sum(r["abstained"] for r in rows)
    everything = summary["curve"][0]
    assert everything["threshold"] == 0 and everything["coverage"] == 1.0
    verdicts = [json.loads(line) for line in (run / "verdicts.jsonl").read_text().splitlines()]
    assert everything["accuracy"] == pytest.approx(sum(v["strict"]["follow_all_instructions"] for v in verdicts) / 12)
    assert "self-judge: AUROC" in done.stdout
    unknown = adhere("eval", "ifeval", "--strategy", "self-judge:2", "--limit", "1")
    assert unknown.returncode == 2 and "self-judge[:THRESHOLD]" in unknown.stderr


def test_requirement_verdicts_name_their_requirement():
    from adhere.bench.decomposed import verdict_rows

    rows = [{"key": 1, "prompt": "p", "requirements": ["Use no commas.", "Stay under 50 words."]},
            {"key": 2, "prompt": "q", "requirements": ["Be polite."]}]  # fmt: skip
    judgments = [{"key": 1, "index": 0, "met": True, "answer": "YES, none."},
                 {"key": 1, "index": 1, "met": None, "answer": "Maybe", "error": "neither"}]  # fmt: skip
    first, second = verdict_rows(rows, {1: "text", 2: None}, judgments)
    assert first["strict"]["follow_instruction_list"] == [True, False]
    assert first["strict"]["reasons"] == ["Use no commas. (the judge: YES, none.)",
                                          "Stay under 50 words. (the judge gave no verdict: neither)"]  # fmt: skip
    assert second["strict"]["reasons"] == ["Be polite. (no response)"] and not second["response_found"]


def test_self_judge_with_another_judge(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "j").mkdir()
    model = FaultServer(tmp_path / "m", [{"status": 200}])  # answers "echo: ..."
    judge = FaultServer(tmp_path / "j", [{"yes_no": True}])
    try:
        run = tmp_path / "run"
        done = adhere("eval", "ifeval", "--data", IFEVAL / "input_data.jsonl", "--limit", "5", "--model", "openai:m",
                      "-M", f"base_url={model.url}", "--strategy", "self-judge", "--judge", "openai:j", "-J",
                      f"base_url={judge.url}", "--out-dir", run, "--no-cache")  # fmt: skip
        assert done.returncode == 0, done.stderr
        model_calls, judge_calls = model.requests(), judge.requests()
    finally:
        model.kill()
        judge.kill()
    assert len(model_calls) == 5 and all("top_logprobs" not in r["body"] for r in model_calls)
    assert len(judge_calls) == 5 and all(r["body"]["top_logprobs"] == 5 for r in judge_calls)
    assert all(r["body"]["model"] == "j" for r in judge_calls)
    config = json.loads((run / "config.json").read_text())
    assert config["judge"] == "openai:j" and config["strategy"] == "self-judge"
    rows = [json.loads(line) for line in (run / "responses.jsonl").read_text().splitlines()]
    assert all(r["confidence_from"] == "logprobs" for r in rows)
    wrong = adhere("eval", "ifeval", "--data", IFEVAL / "input_data.jsonl", "--strategy", "best-of-n:2", "--judge", "local")
    assert wrong.returncode == 2 and "--judge to --strategy self-judge" in wrong.stderr
