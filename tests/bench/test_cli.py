"""``adhere score`` on real files, run as a real process: formats, pairing, bad input, atomicity."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IFEVAL, read_jsonl, write_jsonl

NO_COMMA = {"instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}


def adhere(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "adhere.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
    )


def test_ifeval_response_rows_paired_by_prompt(tmp_path):
    out = tmp_path / "run"
    result = adhere(
        "score",
        IFEVAL / "input_response_data_gpt4_20231107_145030.jsonl",
        "--inputs",
        IFEVAL / "input_data_gpt4_20231107_145030.jsonl",
        "--out-dir",
        out,
    )
    assert result.returncode == 0, result.stderr
    assert "prompt" in result.stdout and "instruction" in result.stdout
    assert "punctuation:no_comma" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["prompts"] == 541 and summary["instructions"] == 834
    assert set(summary["accuracy"]) == {
        "prompt_level_strict", "instruction_level_strict", "prompt_level_loose", "instruction_level_loose",
    }  # fmt: skip
    rows = read_jsonl(out / "verdicts.jsonl")
    expected_keys = [r["key"] for r in read_jsonl(IFEVAL / "input_data_gpt4_20231107_145030.jsonl")]
    assert [r["key"] for r in rows] == expected_keys  # input order
    assert set(rows[0]["strict"]) == {"follow_all_instructions", "follow_instruction_list", "reasons"}


def test_self_contained_rows_and_the_python_api_agree(tmp_path):
    rows = [
        {"key": 1, "prompt": "p1", **NO_COMMA, "response": "fine"},
        {"key": 2, "prompt": "p2", **NO_COMMA, "response": "a, b"},
    ]
    path = write_jsonl(tmp_path / "r.jsonl", rows)
    result = adhere("score", path, "--out-dir", tmp_path / "o", "--quiet")
    assert result.returncode == 0, result.stderr
    verdicts = read_jsonl(tmp_path / "o" / "verdicts.jsonl")
    assert [v["strict"]["follow_all_instructions"] for v in verdicts] == [True, False]
    assert verdicts[1]["strict"]["reasons"] == ["found 1 comma"]

    from adhere import score

    summary = score(path)
    assert summary.accuracies()["prompt_level_strict"] == 0.5


def test_pairing_by_key_and_missing_responses_are_scored_as_failures(tmp_path):
    inputs = write_jsonl(
        tmp_path / "in.jsonl",
        [{"key": k, "prompt": f"prompt {k}", **NO_COMMA} for k in (10, 11, 12)],
    )
    responses = write_jsonl(
        tmp_path / "resp.jsonl",
        [{"key": 12, "response": "ok"}, {"key": 10, "response": "ok"}, {"key": 99, "response": "x"}],
    )
    result = adhere("score", responses, "--inputs", inputs, "--out-dir", tmp_path / "o")
    assert result.returncode == 0, result.stderr
    assert "warning" in result.stdout and "no response" in result.stdout
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["missing_responses"] == [11]
    assert summary["unmatched_responses"] == 1
    verdicts = read_jsonl(tmp_path / "o" / "verdicts.jsonl")
    assert [v["key"] for v in verdicts] == [10, 11, 12]
    assert verdicts[1]["response_found"] is False
    assert verdicts[1]["strict"]["reasons"] == ["no response"]


def test_empty_response_fails_strict_and_loose(tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", [{"key": 1, **NO_COMMA, "response": "  \n "}])
    verdicts = []
    from adhere import score

    score(path, out=tmp_path / "o")
    verdicts = read_jsonl(tmp_path / "o" / "verdicts.jsonl")
    assert verdicts[0]["strict"]["follow_instruction_list"] == [False]
    assert verdicts[0]["loose"]["follow_instruction_list"] == [False]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"key": 1, "response": "x"\n', "r.jsonl:1: malformed JSON"),
        (b'{"key": 1, "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}], "response": "a"}\n[1, 2]\n',
         "r.jsonl:2: expected a JSON object, got list"),
        (b'{"key": 1, "instruction_id_list": [], "kwargs": [], "response": "\xff\xfe"}\n', "r.jsonl:1: not valid UTF-8"),
        (b'{"key": 1, "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}], "response": "a"}\n'
         b'{"key": 1, "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}], "response": "b"}\n',
         "r.jsonl:2: duplicate key 1"),
        (b'{"key": 1, "instruction_id_list": ["punctuation:no_commas"], "kwargs": [{}], "response": "a"}\n',
         "r.jsonl:1: unknown constraint id 'punctuation:no_commas'"),
        (b'{"key": 1, "instruction_id_list": ["length_constraints:number_words"], "kwargs": [{"num_words": "x", "relation": "at least"}], "response": "a"}\n',
         "r.jsonl:1: length_constraints:number_words: kwarg 'num_words' must be integer"),
        (b'{"key": 1, "prompt": "p", "response": "a"}\n', "r.jsonl:1: row has no 'instruction_id_list'"),
        (b"", "no rows to score"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_code_2(tmp_path, content, message):
    path = tmp_path / "r.jsonl"
    path.write_bytes(content)
    result = adhere("score", path, "--out-dir", tmp_path / "o")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("adhere: error: "), result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_skip_invalid_scores_the_rest_and_lists_what_it_left_out(tmp_path):
    good = '{"key": %d, "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}], "response": "a b"}\n'
    bad_kwargs = ('{"key": 9, "instruction_id_list": ["length_constraints:number_words"], '
                  '"kwargs": [{"num_words": -3, "relation": "at least"}], "response": "a"}\n')  # fmt: skip
    unknown = '{"key": 8, "instruction_id_list": ["punctuation:no_commas"], "kwargs": [{}], "response": "a"}\n'
    path = tmp_path / "r.jsonl"
    path.write_text(good % 1 + bad_kwargs + good % 2 + unknown + good % 1)  # the last: a duplicate key
    strict = adhere("score", path, "--out-dir", tmp_path / "strict")
    assert strict.returncode == 2 and "r.jsonl:2:" in strict.stderr and not (tmp_path / "strict").exists()
    result = adhere("score", path, "--out-dir", tmp_path / "o", "--skip-invalid", "--quiet")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["prompts"] == 2 and summary["accuracy"]["prompt_level_strict"] == 1.0
    rejected = summary["rejected_rows"]
    assert [r.split(": ")[0].rsplit("/", 1)[-1] for r in rejected] == ["r.jsonl:2", "r.jsonl:4", "r.jsonl:5"]
    assert "must be >= 0" in rejected[0] and "unknown constraint id" in rejected[1] and "duplicate key 1" in rejected[2]
    assert "3 row(s) could not be scored and were left out" in result.stderr
    path.write_text(bad_kwargs)
    none = adhere("score", path, "--out-dir", tmp_path / "none", "--skip-invalid")
    assert none.returncode == 2 and "none of its rows could be scored (1 invalid)" in none.stderr


def test_a_failed_run_leaves_earlier_output_untouched(tmp_path):
    out = tmp_path / "o"
    good = write_jsonl(tmp_path / "good.jsonl", [{"key": 1, **NO_COMMA, "response": "fine"}])
    assert adhere("score", good, "--out-dir", out).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # The bad row comes after many good ones, so scoring is under way when it fails.
    rows = [{"key": i, **NO_COMMA, "response": "fine"} for i in range(2000)]
    bad = tmp_path / "bad.jsonl"
    write_jsonl(bad, rows)
    with bad.open("a") as handle:
        handle.write("{not json\n")
    result = adhere("score", bad, "--out-dir", out)
    assert result.returncode == 2 and "bad.jsonl:2001" in result.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no temp files either


def test_inputs_with_duplicate_keys_are_refused(tmp_path):
    inputs = write_jsonl(tmp_path / "in.jsonl", [{"key": 1, "prompt": "a", **NO_COMMA}] * 2)
    responses = write_jsonl(tmp_path / "resp.jsonl", [{"prompt": "a", "response": "x"}])
    result = adhere("score", responses, "--inputs", inputs)
    assert result.returncode == 2 and "in.jsonl:2: duplicate key 1" in result.stderr


def test_missing_file_and_bad_workers(tmp_path):
    result = adhere("score", tmp_path / "nope.jsonl")
    assert result.returncode == 2 and "nope.jsonl: no such file" in result.stderr
    path = write_jsonl(tmp_path / "r.jsonl", [{"key": 1, **NO_COMMA, "response": "x"}])
    result = adhere("score", path, "--workers", "0")
    assert result.returncode == 2 and "--workers must be at least 1" in result.stderr


def test_workers_give_the_same_verdicts(tmp_path):
    out1, out2 = tmp_path / "one", tmp_path / "two"
    args = [IFEVAL / "input_response_data_gpt4_20231107_145030.jsonl", "--inputs",
            IFEVAL / "input_data_gpt4_20231107_145030.jsonl", "--quiet"]  # fmt: skip
    assert adhere("score", *args, "--out-dir", out1).returncode == 0
    assert adhere("score", *args, "--out-dir", out2, "--workers", "2").returncode == 0
    assert (out1 / "verdicts.jsonl").read_bytes() == (out2 / "verdicts.jsonl").read_bytes()
    assert (out1 / "summary.json").read_bytes() == (out2 / "summary.json").read_bytes()


def test_constraints_command_lists_every_id():
    result = adhere("constraints")
    assert result.returncode == 0
    assert "punctuation:no_comma" in result.stdout and "keywords:frequency" in result.stdout


@pytest.mark.parametrize(("command", "abbreviation"), [("synth", "--n"), ("score", "--work"), ("eval", "--max-tok")])
def test_flags_are_never_abbreviated(tmp_path, command, abbreviation):
    """`adhere synth --n 20` once meant `--ngram 20` and wrote 1,000 prompts."""
    args = {"synth": ["--out", tmp_path / "s.jsonl"], "score": [tmp_path / "r.jsonl"], "eval": ["ifeval"]}[command]
    result = adhere(command, *args, abbreviation, "20")
    assert result.returncode == 2 and f"unrecognized arguments: {abbreviation} 20" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_constraints_lists_whole_lines_when_piped_json_on_request_and_refuses_an_unknown_benchmark():
    import json
    import subprocess
    import sys

    def run(*args):
        return subprocess.run([sys.executable, "-m", "adhere.cli", "constraints", *args], capture_output=True, text=True)

    piped = run("--benchmark", "ifbench")
    lines = piped.stdout.splitlines()
    assert piped.returncode == 0 and len(lines) == 58 and all(line.count("\t") == 2 for line in lines)
    rows = [json.loads(line) for line in run("--json").stdout.splitlines()]
    assert len(rows) == 25 + 58 + 29 and {"id", "benchmark", "kwargs", "checks", "instruction", "samplable"} <= set(rows[0])
    assert next(r for r in rows if r["id"] == "punctuation:no_comma")["samplable"] is True
    bad = run("--benchmark", "ifbnech")
    assert bad.returncode == 2 and "(did you mean 'ifbench'?)" in bad.stderr and not bad.stdout
    head = subprocess.run(f"{sys.executable} -m adhere.cli constraints | head -1", shell=True, capture_output=True, text=True)
    assert head.stderr == "" and head.stdout.startswith("change_case:")


def test_without_the_hub_a_missing_data_file_is_one_line_at_once(tmp_path):
    """Nothing answers at the Hub's address: adhere says so after one short connection attempt
    instead of letting the Hub client retry for half a minute."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(tmp_path / "hf")}
    done = subprocess.run([sys.executable, "-m", "adhere.cli", "eval", "ifeval", "--out-dir", str(tmp_path / "run")],
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "cannot load google/IFEval: the Hugging Face Hub did not answer within 3 s" in done.stderr
    assert "pass --data PATH" in done.stderr and not (tmp_path / "run").exists()
