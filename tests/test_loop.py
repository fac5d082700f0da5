"""`adhere loop`: a real (tiny) recipe on the bundled model, killed mid-training and resumed, then
one setting changed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adhere.train.trainer import _complete, last_checkpoint
from tests.conftest import IFBENCH, IFEVAL, read_jsonl

pytest.importorskip("trl")
pytest.importorskip("llama_cpp")

TINY = Path(__file__).parent / "recipe" / "tiny.toml"


def loop_command(out, cache, *extra):
    return [sys.executable, "-m", "adhere.cli", "loop", "--recipe", str(TINY), "--out-dir", str(out), "--cache", str(cache),
            "--ifeval-data", str(IFEVAL / "input_data.jsonl"), "--ifbench-data", str(IFBENCH / "IFBench_test.jsonl"),
            *extra]  # fmt: skip


def training_child(loop_pid: int) -> int:
    """The process the loop trains in (a multiprocessing spawn child, not its resource tracker)."""
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:  # not a process, or gone
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == loop_pid and "spawn_main" in command:
            return int(entry.name)
    raise AssertionError("the loop has no training child")


def wait_for(path: Path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 600
    while not path.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_loop_killed_while_training_resumes_and_reports(tmp_path):
    out, cache = tmp_path / "loop", tmp_path / "cache.sqlite"
    command = loop_command(out, cache)
    training = out / "train" / "train"
    quick = {**os.environ, "ADHERE_LOG_INTERVAL": "0"}  # a progress line at every step

    # The process that trains is killed (as the out-of-memory killer would kill it): the loop
    # fails at once with one line, where it used to wait for ever for an answer.
    with (tmp_path / "first.err").open("w") as first_err:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=first_err, env=quick)
        wait_for(training / "checkpoint-2", process)
        assert process.poll() is None, "the loop ended before it could be killed while training"
        os.kill(training_child(process.pid), signal.SIGKILL)
        assert process.wait(timeout=60) == 1
    first = (tmp_path / "first.err").read_text()
    assert first.strip().endswith("error: train: training: its process died without a result (killed by SIGKILL, as "
                                  "the out-of-memory killer does); rerun the same command: it resumes"), first[-2000:]  # fmt: skip
    # What the training libraries print goes to the stage's log, not between the loop's lines.
    assert "Converting and de-quantizing" not in first and "Warning" not in first
    assert "Converting and de-quantizing" in (out / "train" / "train.log").read_text()
    before = [int(c.name.rsplit("-", 1)[1]) for c in training.glob("checkpoint-*") if _complete(c / "trainer_state.json")]
    assert before and max(before) < 8

    # The whole loop is killed while training, on from where the first run left off.
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(training / f"checkpoint-{max(before) + 2}", process)
    # Frozen first, then looked at, then killed: on a busy machine the loop can run on between
    # seeing checkpoint-2 and the kill (once it finished training in that gap, so the resumed run
    # rightly trained nothing and reported resumed_from_step 0). What it had saved is read while it
    # cannot change, and the resumed run must start from exactly that.
    os.kill(process.pid, signal.SIGSTOP)
    assert process.poll() is None, "the loop ended before it could be killed while training"
    assert not (training / "result.json").exists(), "training finished before the kill; raise max_steps"
    saved = [int(c.name.rsplit("-", 1)[1]) for c in training.glob("checkpoint-*") if _complete(c / "trainer_state.json")]
    os.kill(process.pid, signal.SIGKILL)  # as an out-of-memory kill would: no clean-up runs
    process.wait()
    assert not (out / "loop.json").exists() and saved

    plan = subprocess.run([*command, "--dry-run"], capture_output=True, text=True, timeout=120)
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert "resumes  train" in plan.stdout and "done     answers" in plan.stdout and "runs     eval-model" in plan.stdout

    done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=quick)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "answers: base answers prompts (best-of-n:2, 48 tokens) (done before)" in done.stderr
    assert "train: SFT base on rows (8 steps, LoRA r16) (resuming)" in done.stderr
    assert f"train: resuming from step {max(saved)} of 8" in done.stderr and "train: 8 of 8 steps done" in done.stderr
    assert "Converting and de-quantizing" not in done.stderr and "Warning" not in done.stderr
    assert (out / "train" / "train.log").read_text().count(": training into ") == 3
    assert "eval-base: ifeval prompt strict" in done.stdout and "eval-model: ifeval prompt strict" in done.stdout

    attempts = read_jsonl(out / "stages.jsonl")
    finished = [row["stage"] for row in attempts if row["finished"]]
    # Every stage finished exactly once: nothing before the kills was done again.
    assert sorted(finished) == sorted(set(finished)) and len(finished) == 9
    assert [row["stage"] for row in attempts if not row["finished"]] == ["train"]  # the child's death; a kill -9 writes none
    result = json.loads((training / "result.json").read_text())
    assert result["steps"] == 8 and result["resumed_from_step"] == max(saved)
    logged = [row["step"] for row in read_jsonl(training / "log.jsonl") if "loss" in row]
    assert logged == sorted(set(logged))
    samples = read_jsonl(out / "answers" / "run" / "responses.jsonl")
    assert len(samples) == len({json.dumps(row["key"]) for row in samples})

    summary = json.loads((out / "loop.json").read_text())
    sft = summary["stages"]["sft"]["result"]
    assert sft["rows"] >= 1 and sft["contamination"] == {"rows_checked": sft["rows"], "overlapping": 0, "ngram": 8}
    assert summary["stages"]["prompts"]["result"]["prompts_checked"] == 541 + 300
    assert summary["stages"]["rows"]["result"] == {"rows": sft["rows"], "from": {"sft": sft["rows"]}}
    for benchmark in ("ifeval", "ifbench"):
        runs = summary["benchmarks"][benchmark]["runs"]
        assert [run["name"] for run in runs] == ["eval-base", "eval-model"] and all(run["prompts"] == 3 for run in runs)
        assert summary["benchmarks"][benchmark]["comparisons"][0]["b"] == "eval-model"
        # Where the change comes from: every instruction of the 3 prompts counted once per id.
        per_id = summary["benchmarks"][benchmark]["comparisons"][0]["per_id"]
        verdicts = read_jsonl(out / "eval-model" / benchmark / "verdicts.jsonl")
        assert sum(e["n"] for e in per_id) == sum(len(row["instruction_id_list"]) for row in verdicts)
        assert all(isinstance(run["cut_off"], int) for run in runs)
        assert f"eval-model vs eval-base, {benchmark} per instruction id (" in done.stdout
        config = json.loads((out / "eval-model" / benchmark / "config.json").read_text())
        assert config["model"] == f"gguf:{out.absolute() / 'model' / 'model.gguf'}"
    page = (out / "report.html").read_text()
    assert "Accuracy by model" in page and "What each stage made" in page and "8 steps on" in page
    assert "Where the changes come from" in page
    assert (out / "report-ifeval.html").exists() and (out / "report-ifbench.html").exists()

    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and len(read_jsonl(out / "stages.jsonl")) == len(attempts)

    # One setting changed: the stage and what reads it run again, nothing else; the run
    # directory's recipe.toml then holds the new value.
    changed = subprocess.run([*command, "--set", "max_steps=6"], capture_output=True, text=True, timeout=900)
    assert changed.returncode == 0, changed.stderr[-3000:]
    rerun = [row["stage"] for row in read_jsonl(out / "stages.jsonl")[len(attempts):]]
    assert rerun == ["train", "model", "eval-model"]
    assert json.loads((training / "result.json").read_text())["steps"] == 6
    assert "max_steps = 6" in (out / "recipe.toml").read_text()


def test_a_checkpoint_cut_short_is_removed_and_the_one_before_used(tmp_path):
    for step, complete in ((2, True), (4, True), (6, False)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "adapter_model.safetensors").write_bytes(b"")
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    assert last_checkpoint(tmp_path) == tmp_path / "checkpoint-4"
    assert not (tmp_path / "checkpoint-6").exists() and (tmp_path / "checkpoint-2").exists()


def test_the_loop_runs_gguf_models_only(tmp_path):
    from adhere.errors import InputError
    from adhere.recipe import loop

    with pytest.raises(InputError, match="the loop trains and runs a GGUF model"):
        loop(str(TINY), tmp_path / "x", model="openai:gpt")
    assert not (tmp_path / "x").exists()
