"""IFBench: adhere's verdicts equal allenai/IFBench's reference evaluator's on every prompt.

The expected files are the reference's own output (HEAD db69a6f, ../shared/data/README): the
294 sample responses scored against the 300-prompt test file (7 prompts have no response and
count as failed) and against the 294-prompt file they were written for. Responses are paired by
prompt text, ignoring surrounding whitespace, as the reference pairs them.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from adhere.bench.scoring import score
from tests.conftest import IFBENCH, read_jsonl

TEST_FILES = {
    "test300": "IFBench_test.jsonl",
    "test294": "IFBench_test_c94da02_294rows.jsonl",
}


@pytest.fixture(scope="module", params=sorted(TEST_FILES))
def scored(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    summary = score(
        IFBENCH / "sample_output.jsonl", IFBENCH / TEST_FILES[request.param], benchmark="ifbench", out=out
    )
    return request.param, summary, read_jsonl(out / "verdicts.jsonl")


@pytest.mark.parametrize("mode", ["strict", "loose"])
def test_every_prompt_matches_the_reference(scored, mode):
    name, _, rows = scored
    expected = read_jsonl(IFBENCH / "expected" / f"sample_output_vs_{name}_{mode}.jsonl")
    assert [r["key"] for r in rows] == [e["key"] for e in expected]
    assert [r["response_found"] for r in rows] == [e["response_found"] for e in expected]
    mismatches = [
        (row["key"], row["instruction_id_list"], row[mode]["follow_instruction_list"], exp["follow_instruction_list"])
        for row, exp in zip(rows, expected)
        if row[mode]["follow_instruction_list"] != exp["follow_instruction_list"]
    ]
    assert mismatches == []


def test_summary_matches_the_reference_counts(scored):
    name, summary, _ = scored
    reference = json.loads((IFBENCH / "expected" / "summary.json").read_text())
    section = next(v for k, v in reference.items() if k.startswith(f"vs_{name}"))
    data = summary.to_dict()
    for mode in ("strict", "loose"):
        want = section[mode]
        assert data["accuracy"][f"prompt_level_{mode}"] == pytest.approx(want["prompt_level_acc"])
        assert data["accuracy"][f"instruction_level_{mode}"] == pytest.approx(want["instruction_level_acc"])
    assert len(summary.missing_responses) == section["strict"]["responses_missing"]


def test_every_ifbench_id_occurs_in_the_test_data():
    from adhere import ids

    used = {i for row in read_jsonl(IFBENCH / "IFBench_test.jsonl") for i in row["instruction_id_list"]}
    assert used == set(ids("ifbench")) and len(used) == 58


def test_cli_scores_ifbench_files(tmp_path):
    out = tmp_path / "scored"
    result = subprocess.run(
        [sys.executable, "-m", "adhere.cli", "score", str(IFBENCH / "sample_output.jsonl"),
         "--inputs", str(IFBENCH / "IFBench_test_c94da02_294rows.jsonl"), "--benchmark", "ifbench",
         "--out-dir", str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["benchmark"] == "ifbench"
    assert summary["accuracy"]["prompt_level_loose"] == pytest.approx(87 / 294)
