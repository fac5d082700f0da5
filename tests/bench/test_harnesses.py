"""Other harnesses' logs (lm-evaluation-harness samples, inspect eval logs) score exactly as the
same responses in adhere's own format; and the lm-eval-style results file."""

from __future__ import annotations

import gzip
import json
import zipfile

import pytest

from tests.bench.test_cli import adhere
from tests.conftest import IFEVAL, read_jsonl, write_jsonl

COUNT = 120


@pytest.fixture(scope="module")
def rows():
    """IFEval's first prompts with GPT-4's published responses, as self-contained rows; their
    kwargs padded with nulls as the Hugging Face copy (and so lm-eval's documents) has them."""
    responses = {r["prompt"]: r["response"] for r in read_jsonl(IFEVAL / "input_response_data_gpt4_20231107_145030.jsonl")}
    out = []
    for row in read_jsonl(IFEVAL / "input_data.jsonl"):
        if row["prompt"] in responses:
            padded = [{"num_words": None, "relation": None, **kw} for kw in row["kwargs"]]
            out.append({**row, "kwargs": padded, "response": responses[row["prompt"]]})
        if len(out) == COUNT:
            return out
    return out


def lm_eval_samples(rows):
    return [{"doc_id": i, "doc": {k: r[k] for k in ("key", "prompt", "instruction_id_list", "kwargs")},
             "target": 0, "arguments": {"gen_args_0": {"arg_0": r["prompt"], "arg_1": {"max_gen_toks": 1280}}},
             "resps": [[r["response"]]], "filtered_resps": [r["response"]], "filter": "none",
             "metrics": ["prompt_level_strict_acc"], "doc_hash": "h", "prompt_hash": "h", "target_hash": "h"}
            for i, r in enumerate(rows)]  # fmt: skip


def inspect_sample(r, epoch=1, content=None, indexed=False):
    answer = r["response"] if content is None else content
    kwargs = r["kwargs"]
    if indexed:  # as inspect_evals' IFEval keeps them: by instruction index, empty values dropped
        kwargs = {str(i): {k: v for k, v in kw.items() if v} for i, kw in enumerate(kwargs)}
    return {"id": r["key"], "epoch": epoch, "input": [{"role": "user", "content": r["prompt"]}], "target": "",
            "metadata": {"prompt": r["prompt"], "instruction_id_list": r["instruction_id_list"], "kwargs": kwargs},
            "output": {"model": "m", "choices": [{"message": {"role": "assistant", "content": answer},
                                                   "stop_reason": "stop"}]}}  # fmt: skip


def scored(tmp_path, name, path, *extra):
    result = adhere("score", path, "--out-dir", tmp_path / name, "--quiet", *extra)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / name / "summary.json").read_text())
    verdicts = read_jsonl(tmp_path / name / "verdicts.jsonl")
    return summary, [(v["key"], v["strict"], v["loose"]) for v in verdicts]


def test_lm_eval_and_inspect_logs_score_as_adhere_rows(tmp_path, rows):
    own = write_jsonl(tmp_path / "own.jsonl", rows)
    expected_summary, expected = scored(tmp_path, "own", own)
    assert expected_summary["prompts"] == COUNT

    samples = write_jsonl(tmp_path / "samples_ifeval_2026-12-06T10-00-00.jsonl", lm_eval_samples(rows))
    gz = tmp_path / "samples_ifeval_2026-12-06T10-00-00.jsonl.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as handle:
        handle.write(samples.read_text())
    log = tmp_path / "2026-12-06_ifeval.json"
    log.write_text(json.dumps({"version": 2, "status": "success", "eval": {"task": "inspect_evals/ifeval"},
                               "samples": [inspect_sample(r) for r in rows]}))  # fmt: skip
    archive = tmp_path / "2026-12-06_ifeval.eval"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("header.json", json.dumps({"version": 2, "eval": {"task": "inspect_evals/ifeval"}}))
        for r in rows:  # content as parts, as some providers give it
            zipped.writestr(f"samples/{r['key']}_epoch_1.json",
                            json.dumps(inspect_sample(r, content=[{"type": "text", "text": r["response"]}], indexed=True)))
    for name, path in (("lm-eval", samples), ("lm-eval-gz", gz), ("inspect-json", log), ("inspect-eval", archive)):
        summary, verdicts = scored(tmp_path, name, path)
        assert verdicts == expected, name
        assert summary["accuracy"] == expected_summary["accuracy"], name
    # Told explicitly, the same; told wrongly, one line saying what was expected.
    assert scored(tmp_path, "told", samples, "--format", "lm-eval")[1] == expected
    wrong = adhere("score", own, "--format", "inspect", "--out-dir", tmp_path / "wrong")
    assert wrong.returncode == 2 and "not an inspect eval log" in wrong.stderr and len(wrong.stderr.splitlines()) == 1
    assert not (tmp_path / "wrong").exists()


def test_another_task_or_a_torn_log_is_one_line(tmp_path, rows):
    other = write_jsonl(tmp_path / "samples_gsm8k.jsonl", [{"doc_id": 0, "doc": {"question": "2+2?", "answer": "4"},
                                                            "resps": [["4"]], "filtered_resps": ["4"]}])  # fmt: skip
    result = adhere("score", other, "--out-dir", tmp_path / "o")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert "samples_gsm8k.jsonl:1: not an IFEval or IFBench document" in result.stderr
    samples = write_jsonl(tmp_path / "samples_ifeval.jsonl", lm_eval_samples(rows[:3]))
    paired = adhere("score", samples, "--inputs", IFEVAL / "input_data.jsonl", "--out-dir", tmp_path / "x")
    assert paired.returncode == 2 and "--inputs does not apply" in paired.stderr and not (tmp_path / "x").exists()
    epochs = tmp_path / "epochs.json"  # two epochs: each answer scored, keyed id/epoch
    epochs.write_text(json.dumps({"eval": {}, "samples": [inspect_sample(rows[0], 1), inspect_sample(rows[0], 2)]}))
    _, verdicts = scored(tmp_path, "epochs", epochs)
    assert [v[0] for v in verdicts] == [f"{rows[0]['key']}/1", f"{rows[0]['key']}/2"]


def test_lm_eval_results_file(tmp_path, rows):
    own = write_jsonl(tmp_path / "own.jsonl", rows)
    summary, _ = scored(tmp_path, "own", own, "--lm-eval-results", tmp_path / "results.json")
    results = json.loads((tmp_path / "results.json").read_text())
    task = results["results"]["ifeval"]
    accuracy = summary["accuracy"]
    assert task["prompt_level_strict_acc,none"] == accuracy["prompt_level_strict"]
    assert task["inst_level_loose_acc,none"] == accuracy["instruction_level_loose"]
    p = accuracy["prompt_level_strict"]
    assert task["prompt_level_strict_acc_stderr,none"] == pytest.approx((p * (1 - p) / (COUNT - 1)) ** 0.5)
    assert task["inst_level_strict_acc_stderr,none"] == "N/A"
    assert results["leaderboard"]["ifeval"] == pytest.approx((p + accuracy["instruction_level_strict"]) / 2)
    assert results["n-samples"]["ifeval"] == {"original": COUNT, "effective": COUNT}


def test_lighteval_details_score_as_adhere_rows(tmp_path, rows):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    own = write_jsonl(tmp_path / "own.jsonl", rows)
    _, expected = scored(tmp_path, "own", own)
    # Today's layout: doc (query, specific) and model_response (text; text_post_processed is what
    # lighteval's metric scores where the task post-processes).
    today = [{"doc": {"id": r["key"], "query": r["prompt"], "choices": [""], "gold_index": 0, "instruction": "",
                      "specific": {"instructions_id_list": r["instruction_id_list"], "kwargs": r["kwargs"]}},
              "model_response": {"text": ["<think>scratch</think>" + r["response"]],
                                 "text_post_processed": [r["response"]], "input": r["prompt"]},
              "metric": {"prompt_level_strict_acc": 1}} for r in rows]  # fmt: skip
    new = tmp_path / "details_extended|ifeval|0_2026-12-06T10-00-00.parquet"
    pq.write_table(pa.Table.from_pylist(today), new)
    older = [{"example": r["prompt"], "full_prompt": r["prompt"], "predictions": [r["response"]],
              "specifics": {"instructions_id_list": r["instruction_id_list"], "kwargs": r["kwargs"]},
              "metrics": {"prompt_level_strict_acc": 1}} for r in rows]  # fmt: skip
    old = tmp_path / "details_custom|ifeval|0_2024-05-01T10-00-00.parquet"
    pq.write_table(pa.Table.from_pylist(older), old)
    _, verdicts = scored(tmp_path, "lighteval", new)
    assert verdicts == expected
    _, verdicts = scored(tmp_path, "lighteval-old", old)
    assert [v[1:] for v in verdicts] == [v[1:] for v in expected]  # keys: positions there
    other = tmp_path / "details_gsm8k_2026.parquet"
    pq.write_table(pa.Table.from_pylist([{"doc": {"query": "2+2?", "specific": None}, "model_response": {"text": ["4"]}}]),
                   other)  # fmt: skip
    result = adhere("score", other, "--out-dir", tmp_path / "gsm8k")
    assert result.returncode == 2 and "not an IFEval or IFBench details row" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
