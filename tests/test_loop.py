"""`adhere loop`: a real (tiny) loop on the bundled model, killed mid-training and resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from adhere.errors import InputError
from adhere.loop import Loop, LoopConfig
from adhere.train.trainer import _complete, last_checkpoint
from tests.conftest import IFBENCH, IFEVAL, read_jsonl

pytest.importorskip("trl")
pytest.importorskip("llama_cpp")


def loop_command(out, cache, **changes):
    settings = {
        "--prompts": "16", "--strategy": "best-of-n:2", "--max-tokens": "48", "--eval-limit": "3",
        "--max-steps": "8", "--save-steps": "1", "--batch-size": "1",
        "--keep-cut-off": None,  # at 48 tokens nearly every answer is cut off
        "--ifeval-data": str(IFEVAL / "input_data.jsonl"), "--ifbench-data": str(IFBENCH / "IFBench_test.jsonl"),
        **changes,
    }  # fmt: skip
    return [sys.executable, "-m", "adhere.cli", "loop", "--out", str(out), "--cache", str(cache),
            *[part for pair in settings.items() for part in pair if part is not None]]  # fmt: skip


def test_a_loop_killed_while_training_resumes_and_reports(tmp_path):
    out, cache = tmp_path / "loop", tmp_path / "cache.sqlite"
    command = loop_command(out, cache)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    training = out / "round-1" / "train-sft"
    deadline = time.monotonic() + 600
    while not (training / "checkpoint-2").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    # Frozen first, then looked at, then killed: on a busy machine the loop can run on between
    # seeing checkpoint-2 and the kill (once it finished training in that gap, so the resumed run
    # rightly trained nothing and reported resumed_from_step 0). What it had saved is read while it
    # cannot change, and the resumed run must start from exactly that.
    os.kill(process.pid, signal.SIGSTOP)
    assert process.poll() is None, "the loop ended before it could be killed while training"
    assert not (training / "result.json").exists(), "training finished before the kill; raise --max-steps"
    saved = [int(c.name.rsplit("-", 1)[1]) for c in training.glob("checkpoint-*") if _complete(c / "trainer_state.json")]
    os.kill(process.pid, signal.SIGKILL)  # as an out-of-memory kill would: no clean-up runs
    process.wait()
    assert not (out / "loop.json").exists() and saved

    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "(done before)" in done.stderr and "base: ifeval prompt strict" in done.stdout

    attempts = read_jsonl(out / "stages.jsonl")
    finished = [row["stage"] for row in attempts if row["finished"]]
    # Every stage finished exactly once: nothing before the kill was done again.
    assert sorted(finished) == sorted(set(finished)) and len(finished) == 9
    result = json.loads((training / "result.json").read_text())
    assert result["steps"] == 8 and result["resumed_from_step"] == max(saved)
    logged = [row["step"] for row in read_jsonl(out / "round-1" / "train-sft" / "log.jsonl") if "loss" in row]
    assert logged == sorted(set(logged))
    samples = read_jsonl(out / "round-1" / "samples" / "responses.jsonl")
    assert len(samples) == len({json.dumps(row["key"]) for row in samples})

    summary = json.loads((out / "loop.json").read_text())
    data = summary["rounds"][0]["data"]["result"]
    assert data["sft"]["rows"] >= 1 and data["contamination"] == {"rows_checked": data["sft"]["rows"] + data["pairs"]["rows"],
                                                                  "overlapping": 0, "ngram": 8}  # fmt: skip
    assert summary["rounds"][0]["synth"]["result"]["eval_prompts_checked"] == 541 + 300
    for benchmark in ("ifeval", "ifbench"):
        runs = summary["benchmarks"][benchmark]["runs"]
        assert [run["name"] for run in runs] == ["base", "round-1"] and all(run["prompts"] == 3 for run in runs)
        assert summary["benchmarks"][benchmark]["comparisons"][0]["b"] == "round-1"
        config = json.loads((out / "round-1" / benchmark / "config.json").read_text())
        assert config["model"] == f"gguf:{out / 'round-1' / 'model.gguf'}"
    page = (out / "report.html").read_text()
    assert "Accuracy by round" in page and "round-1-train-sft" in page
    assert (out / "report-ifeval.html").exists() and (out / "report-ifbench.html").exists()

    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and len(read_jsonl(out / "stages.jsonl")) == len(attempts)

    changed = subprocess.run(loop_command(out, cache, **{"--prompts": "20"}), capture_output=True, text=True)
    assert changed.returncode == 2
    assert "holds a loop with other settings (prompts)" in changed.stderr
    assert len(changed.stderr.strip().splitlines()) == 1


def test_a_checkpoint_cut_short_is_removed_and_the_one_before_used(tmp_path):
    for step, complete in ((2, True), (4, True), (6, False)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "adapter_model.safetensors").write_bytes(b"")
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    assert last_checkpoint(tmp_path) == tmp_path / "checkpoint-4"
    assert not (tmp_path / "checkpoint-6").exists() and (tmp_path / "checkpoint-2").exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model": "openai:gpt"}, "the loop trains and runs a GGUF model"),
        ({"rounds": 0}, "bad loop setting --rounds: 0"),
        ({"train": "ppo"}, "--train must be one of sft, dpo, sft\\+dpo"),
        ({"strategy": "best-of-three"}, "strategy"),
        ({"batch_size": 0}, "bad training setting --batch-size: 0"),
        ({"export": "q4_1"}, "--export must be q8_0 or f16"),
        ({"keep_cut_off": True, "end_cut_off": True}, "pass one of the two"),
        ({"dpo_learning_rate": -1.0}, "bad training setting --learning-rate: -1.0"),
        ({"weight": ("change_case:english_lowercase",)}, "--weight takes ID=W"),
    ],
)
def test_bad_loop_settings_are_refused_before_anything_runs(tmp_path, changes, message):
    with pytest.raises(InputError, match=message):
        Loop(LoopConfig(out=str(tmp_path / "x"), **changes))
    assert not (tmp_path / "x").exists()


def test_a_folder_that_is_not_a_loop_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="is not empty and holds no adhere loop"):
        Loop(LoopConfig(out=str(tmp_path), ifeval_data=str(IFEVAL / "input_data.jsonl"))).run()
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_round_whose_answers_were_all_cut_off_says_so(tmp_path):
    """The loop's own data stage wrote no rows because every answer ran into --max-tokens."""
    from adhere.errors import AdhereError
    from adhere.synth.datasets import write_training_data

    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"key": "a", "prompt": "Say hi without commas.",
                                   "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}) + "\n")  # fmt: skip
    run = tmp_path / "round-1" / "samples"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"data": str(prompts), "model": "local", "limit": None}))
    (run / "responses.jsonl").write_text(json.dumps({"key": "a", "sample": 0, "response": "hi there and",
                                                     "finish_reason": "length"}) + "\n")  # fmt: skip
    write_training_data(run, "sft", tmp_path / "round-1" / "sft.jsonl")
    loop = Loop(LoopConfig(out=str(tmp_path), max_tokens=48))
    with pytest.raises(AdhereError, match="1 of 1 sampled answers were cut off at --max-tokens 48 .* raise --max-tokens"):
        loop._train(tmp_path / "round-1", "sft", "local")


def test_a_rerun_may_name_the_same_files_another_way(tmp_path):
    """../shared/x and /abs/shared/x are one file: a rerun naming it either way continues the loop."""
    data = tmp_path / "data" / "ifeval.jsonl"
    data.parent.mkdir()
    data.write_text("")
    (tmp_path / "model.gguf").write_bytes(b"")
    out = str(tmp_path / "loop")
    Loop(LoopConfig(out=out, ifeval_data=str(data), model=f"gguf:{tmp_path / 'model.gguf'}"))._open()
    Loop(LoopConfig(out=out, ifeval_data=str(tmp_path / "data" / ".." / "data" / "ifeval.jsonl"),
                    model=f"gguf:{tmp_path / '.' / 'model.gguf'}"))._open()  # fmt: skip
    other = tmp_path / "other.jsonl"
    other.write_text("")
    with pytest.raises(InputError, match=r"other settings \(ifeval_data, model\)"):
        Loop(LoopConfig(out=out, ifeval_data=str(other), model="local"))._open()


def test_synthesis_weights_reach_the_prompts_and_a_rerun_keeps_them(tmp_path):
    out = str(tmp_path / "loop")
    config = LoopConfig(out=out, seed=3, weight=("change_case:english_lowercase=4",))
    assert config.synth_config(2).weights == (("change_case:english_lowercase", 4.0),) and config.synth_config(2).seed == 1003
    Loop(config)._open()
    Loop(config)._open()  # the tuple saved as a JSON list is the same setting
    with pytest.raises(InputError, match=r"other settings \(weight\)"):
        Loop(LoopConfig(out=out, seed=3))._open()


def test_the_phrasing_reaches_synthesis_and_a_loop_started_before_it_existed_resumes(tmp_path):
    out = tmp_path / "loop"
    assert LoopConfig(out=str(out), phrasing="varied").synth_config(1).phrasing == "varied"
    Loop(LoopConfig(out=str(out)))._open()
    saved = json.loads((out / "loop_config.json").read_text())
    saved.pop("phrasing")  # as an older adhere wrote it
    (out / "loop_config.json").write_text(json.dumps(saved))
    Loop(LoopConfig(out=str(out)))._open()
    with pytest.raises(InputError, match=r"other settings \(phrasing\)"):
        Loop(LoopConfig(out=str(out), phrasing="varied"))._open()
    with pytest.raises(InputError, match="--phrasing must be one of canonical, varied"):
        LoopConfig(out=str(tmp_path / "bad"), phrasing="loose").validate()


def test_dpo_may_have_its_own_learning_rate(tmp_path):
    def rates(**settings):
        config = LoopConfig(out=str(tmp_path / "x"), **settings)
        return config.train_config("sft", "d", "o").lr, config.train_config("dpo", "d", "o").lr

    assert rates() == (2e-4, 5e-5)  # the trainer's LoRA defaults
    assert rates(learning_rate=1e-4) == (1e-4, 1e-4)
    assert rates(learning_rate=1e-4, dpo_learning_rate=3e-4) == (1e-4, 3e-4)
    assert rates(dpo_learning_rate=3e-4) == (2e-4, 3e-4)
    config = LoopConfig(out=str(tmp_path / "x"), sft_weight=0.5)  # RPO's added loss is DPO's alone
    assert config.train_config("sft", "d", "o").sft_weight == 0.0 and config.train_config("dpo", "d", "o").sft_weight == 0.5
