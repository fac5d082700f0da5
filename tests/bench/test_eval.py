"""``adhere eval`` end to end against a real local server: run directory, cache, resume, kills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import IFEVAL, read_jsonl, write_jsonl
from tests.models.test_openai_backend import FaultServer

N = 12


@pytest.fixture
def prompts(tmp_path) -> Path:
    rows = read_jsonl(IFEVAL / "input_data_gpt4_20231107_145030.jsonl")[:N]
    return write_jsonl(tmp_path / "prompts.jsonl", rows)


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return {**os.environ, "ADHERE_CACHE_DIR": str(tmp_path / "cache"), "PYTHONUNBUFFERED": "1"}


def eval_args(server_url: str, prompts: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "adhere.cli", "eval", "ifeval", "--model", "openai:fake",
        "-M", f"base_url={server_url}", "--data", str(prompts), "--out-dir", str(out), *extra,
    ]  # fmt: skip


def check_complete(out: Path) -> list[dict]:
    rows = read_jsonl(out / "responses.jsonl")
    assert [r["key"] for r in rows] == [p["key"] for p in read_jsonl(IFEVAL / "input_data_gpt4_20231107_145030.jsonl")[:N]]
    assert all(r["response"] and r["error"] is None for r in rows)
    assert len(read_jsonl(out / "verdicts.jsonl")) == N
    summary = json.loads((out / "summary.json").read_text())
    assert summary["prompts"] == N and summary["missing_responses"] == []
    return rows


def test_eval_writes_a_run_directory_and_reruns_from_the_cache(tmp_path, prompts, env):
    server = FaultServer(tmp_path, [{"status": 200}])
    try:
        out = tmp_path / "run"
        first = subprocess.run(eval_args(server.url, prompts, out, "--max-tokens", "64"), env=env, capture_output=True, text=True)
        assert first.returncode == 0, first.stderr
        assert "prompt" in first.stdout and "instruction" in first.stdout
        rows = check_complete(out)
        assert not any(r["cached"] for r in rows)
        config = json.loads((out / "config.json").read_text())
        assert config["model_identity"] == {"backend": "openai", "model": "fake", "base_url": server.url}
        assert config["generation"]["max_tokens"] == 64 and config["data"] == str(prompts.resolve())
        # command.toml holds every option as it ran: --config of it is the same command.
        command = (out / "command.toml").read_text()
        assert "max_tokens = 64" in command and f'model_options = {{ base_url = "{server.url}" }}' in command
        again = subprocess.run([sys.executable, "-m", "adhere.cli", "eval", "ifeval", "--config", str(out / "command.toml")],
                               env=env, capture_output=True, text=True)  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert all(r["cached"] is False for r in read_jsonl(out / "responses.jsonl"))  # nothing was answered again
        assert len(server.requests()) == N

        # Same command into a new folder: every response comes from the cache.
        second_out = tmp_path / "run2"
        second = subprocess.run(eval_args(server.url, prompts, second_out, "--max-tokens", "64"), env=env, capture_output=True, text=True)
        assert second.returncode == 0, second.stderr
        assert all(r["cached"] for r in check_complete(second_out))
        assert len(server.requests()) == N
        assert (out / "verdicts.jsonl").read_bytes() == (second_out / "verdicts.jsonl").read_bytes()

        # `adhere score RUN_DIR` scores the run's responses the same way.
        rescored = subprocess.run(
            [sys.executable, "-m", "adhere.cli", "score", str(out), "--out-dir", str(tmp_path / "re")],
            env=env, capture_output=True, text=True,
        )
        assert rescored.returncode == 0, rescored.stderr
        assert (tmp_path / "re" / "verdicts.jsonl").read_bytes() == (out / "verdicts.jsonl").read_bytes()

        # Other settings into the same folder are refused.
        other = subprocess.run(eval_args(server.url, prompts, out, "--max-tokens", "65"), env=env, capture_output=True, text=True)
        assert other.returncode == 2 and "holds a run with other settings (generation)" in other.stderr
    finally:
        server.kill()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_a_killed_run_resumes_without_regenerating(tmp_path, prompts, env, sig):
    server = FaultServer(tmp_path, [{"sleep": 0.4}])
    try:
        out = tmp_path / "run"
        args = eval_args(server.url, prompts, out, "--no-cache", "-M", "concurrency=1")
        # SIGINT as Ctrl-C delivers it to a foreground command, even when this test runs where
        # SIGINT is ignored (a `nohup ... &` job passes SIG_IGN on to every child).
        process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
        responses = out / "responses.jsonl"
        deadline = time.monotonic() + 60
        while not (responses.exists() and responses.read_text().count("\n") >= 3):
            assert time.monotonic() < deadline and process.poll() is None, process.communicate()
            time.sleep(0.05)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=30)
        if sig == signal.SIGINT:
            assert process.returncode == 130 and "interrupted" in stderr, stderr
        else:
            assert process.returncode == -signal.SIGKILL
        before = read_jsonl(responses)
        assert 3 <= len(before) < N
        asked_before = len(server.requests())

        server.set_actions([{"status": 200}])
        result = subprocess.run(args, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert f"resuming {out}: {len(before)} of {N}" in result.stderr
        rows = check_complete(out)  # every key once, in prompt order
        finished = {r["key"]: r["response"] for r in before}
        assert all(r["response"] == finished[r["key"]] for r in rows if r["key"] in finished)
        # Nothing finished was asked again: only the rest (and at most the one in flight).
        assert len(server.requests()) - asked_before == N - len(before)
    finally:
        server.kill()


def test_failed_calls_fail_the_run_keep_its_answers_and_are_retried_by_the_next_run(tmp_path, prompts, env):
    """A failed call is the run's failure, not the model's: exit 1, one line, the answers kept,
    nothing scored (no 0% table from failures); the rerun asks again only for the failed ones."""
    server = FaultServer(tmp_path, [{"status": 200}] * 3 + [{"status": 400}] * 2 + [{"status": 200}])
    try:
        out = tmp_path / "run"
        first = subprocess.run(eval_args(server.url, prompts, out, "-M", "concurrency=1"), env=env, capture_output=True, text=True)
        assert first.returncode == 1, first.stderr
        lines = first.stderr.strip().splitlines()
        assert len(lines) == 1 and f"2 of {N} model calls failed" in lines[0] and "HTTP 400" in lines[0]
        assert "rerun the same command" in lines[0]
        rows = read_jsonl(out / "responses.jsonl")
        failed = [r for r in rows if r["error"]]
        assert len(rows) == N and len(failed) == 2 and all("HTTP 400" in r["error"] for r in failed)
        assert not (out / "summary.json").exists() and not (out / "verdicts.jsonl").exists()

        second = subprocess.run(eval_args(server.url, prompts, out, "-M", "concurrency=1"), env=env, capture_output=True, text=True)
        assert second.returncode == 0, second.stderr
        assert "resuming" in second.stderr
        check_complete(out)
        assert len(server.requests()) == N + 2  # only the two failures were asked again
    finally:
        server.kill()


def test_an_error_budget_scores_the_failed_calls_as_not_followed(tmp_path, prompts, env):
    server = FaultServer(tmp_path, [{"status": 200}] * 3 + [{"status": 400}] * 2 + [{"status": 200}])
    try:
        out = tmp_path / "run"
        args = eval_args(server.url, prompts, out, "-M", "concurrency=1", "--max-failures", "2")
        first = subprocess.run(args, env=env, capture_output=True, text=True)
        assert first.returncode == 0, first.stderr
        failed = [r for r in read_jsonl(out / "responses.jsonl") if r["error"]]
        summary = json.loads((out / "summary.json").read_text())
        assert sorted(summary["missing_responses"]) == sorted(r["key"] for r in failed)
        assert summary["cost"]["failed_calls"] == 2
        verdict = next(v for v in read_jsonl(out / "verdicts.jsonl") if v["key"] == failed[0]["key"])
        assert verdict["strict"]["reasons"][0].startswith("model error: ")
        report = subprocess.run([sys.executable, "-m", "adhere.cli", "report", str(out), "--out", str(tmp_path / "r.html")],
                                env=env, capture_output=True, text=True)  # fmt: skip
        assert report.returncode == 0, report.stderr
        assert "2 failed model calls" in report.stderr or "2 failed model calls" in report.stdout
        assert 'class="badge bad"' in (tmp_path / "r.html").read_text()
        over = subprocess.run(eval_args(server.url, prompts, tmp_path / "strict", "-M", "concurrency=1", "--max-failures", "x"),
                              env=env, capture_output=True, text=True)  # fmt: skip
        assert over.returncode == 2 and not (tmp_path / "strict").exists()
    finally:
        server.kill()


@pytest.mark.parametrize(("benchmark", "dataset"), [("ifeval", "google/IFEval"), ("ifbench", "allenai/IFBench_test")])
def test_hub_path_fails_with_one_clear_line_naming_its_dataset(tmp_path, env, benchmark, dataset):
    result = subprocess.run(
        [sys.executable, "-m", "adhere.cli", "eval", benchmark, "--model", "openai:x",
         "-M", "base_url=http://127.0.0.1:9/v1", "--out-dir", str(tmp_path / "o")],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and dataset in lines[0] and "--data PATH" in lines[0]


def test_a_model_that_will_not_load_is_exactly_one_stderr_line(tmp_path, prompts, env):
    """Nothing before the error line either: rich's progress bar, on a stderr that is not a
    terminal, would otherwise end with an empty line."""
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model")
    result = subprocess.run(
        [sys.executable, "-m", "adhere.cli", "eval", "ifeval", "--data", str(prompts), "--model", f"gguf:{fake}",
         "--out-dir", str(tmp_path / "o")],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode != 0
    assert result.stderr.startswith("adhere: error: ") and result.stderr.count("\n") == 1, repr(result.stderr)
    assert "is not a GGUF file" in result.stderr


def test_cache_info_and_clear(tmp_path, prompts, env):
    server = FaultServer(tmp_path, [{"status": 200}])
    try:
        assert subprocess.run(eval_args(server.url, prompts, tmp_path / "run"), env=env, capture_output=True).returncode == 0
    finally:
        server.kill()
    info = subprocess.run([sys.executable, "-m", "adhere.cli", "cache", "info"], env=env, capture_output=True, text=True)
    assert f"{N} responses" in info.stdout and "openai:fake" in info.stdout
    clear = subprocess.run([sys.executable, "-m", "adhere.cli", "cache", "clear"], env=env, capture_output=True, text=True)
    assert f"deleted {N}" in clear.stdout


def test_eval_ifbench_scores_with_the_ifbench_checkers(tmp_path, env):
    from tests.conftest import IFBENCH

    rows = read_jsonl(IFBENCH / "IFBench_test.jsonl")[:6]
    prompts = write_jsonl(tmp_path / "ifbench.jsonl", rows)
    server = FaultServer(tmp_path, [{"status": 200}])
    try:
        out = tmp_path / "run"
        args = eval_args(server.url, prompts, out)
        args[args.index("ifeval")] = "ifbench"
        result = subprocess.run(args, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        verdicts = read_jsonl(out / "verdicts.jsonl")
        assert [v["key"] for v in verdicts] == [r["key"] for r in rows]
        assert [v["instruction_id_list"] for v in verdicts] == [r["instruction_id_list"] for r in rows]
        summary = json.loads((out / "summary.json").read_text())
        assert summary["benchmark"] == "ifbench" and summary["prompts"] == 6
        assert json.loads((out / "config.json").read_text())["benchmark"] == "ifbench"
    finally:
        server.kill()


def test_off_a_terminal_a_long_run_logs_its_progress(tmp_path, prompts, env):
    server = FaultServer(tmp_path, [{"status": 200}])
    try:
        quick = subprocess.run(eval_args(server.url, prompts, tmp_path / "quick", "--no-cache"), env=env,
                               capture_output=True, text=True)  # fmt: skip
        assert quick.returncode == 0 and " done, " not in quick.stderr  # shorter than the interval: quiet
        logged = subprocess.run(eval_args(server.url, prompts, tmp_path / "logged", "--no-cache", "-M", "concurrency=1"),
                                env={**env, "ADHERE_LOG_INTERVAL": "0"}, capture_output=True, text=True)  # fmt: skip
    finally:
        server.kill()
    assert logged.returncode == 0, logged.stderr
    lines = [line for line in logged.stderr.splitlines() if line.startswith("generating: ")]
    assert lines[0].startswith("generating: 1 of 12 done, ") and lines[-1].startswith("generating: 12 of 12 done, ")
    assert all("items/s" in line and "min left" in line for line in lines)


def test_several_samples_at_temperature_0_are_warned_about(tmp_path, prompts, env):
    server = FaultServer(tmp_path, [{"status": 200}])
    try:
        same = subprocess.run(eval_args(server.url, prompts, tmp_path / "same", "--samples", "3", "--limit", "1"),
                              env=env, capture_output=True, text=True)  # fmt: skip
        varied = subprocess.run(eval_args(server.url, prompts, tmp_path / "varied", "--samples", "3", "--limit", "1",
                                          "--temperature", "0.7"), env=env, capture_output=True, text=True)  # fmt: skip
    finally:
        server.kill()
    assert same.returncode == 0 and "--samples 3 at temperature 0 gives 3 identical greedy answers" in same.stderr
    assert varied.returncode == 0 and "identical" not in varied.stderr


def test_rates_count_the_models_answers_not_the_caches(tmp_path, prompts, env):
    """A rerun into a new folder finds every answer in the cache: the log says so instead of a
    rate of thousands of items per second."""
    server = FaultServer(tmp_path, [{"status": 200}])
    try:
        first = subprocess.run(eval_args(server.url, prompts, tmp_path / "first"), env={**env, "ADHERE_LOG_INTERVAL": "0"},
                               capture_output=True, text=True)  # fmt: skip
        again = subprocess.run(eval_args(server.url, prompts, tmp_path / "again"), env={**env, "ADHERE_LOG_INTERVAL": "0"},
                               capture_output=True, text=True)  # fmt: skip
    finally:
        server.kill()
    assert first.returncode == 0 and again.returncode == 0, again.stderr
    last = [line for line in again.stderr.splitlines() if line.startswith("generating: ")][-1]
    assert last.startswith("generating: 12 of 12 done, 0.00 items/s, 0 tok/s, 12 from the cache"), last
    assert "from the cache" not in [line for line in first.stderr.splitlines() if line.startswith("generating: ")][-1]


def test_a_progress_callback_of_one_argument_still_works():
    from adhere.bench.generate import with_cached

    seen = []
    with_cached(lambda tokens: seen.append(tokens))(5, True)
    both = []
    with_cached(lambda tokens, cached: both.append((tokens, cached)))(7, False)
    assert seen == [5] and both == [(7, False)] and with_cached(None) is None


def test_ifbench_multiturn_answers_the_second_turn(tmp_path, env):
    """IFBench's constraint isolation: rows carry the conversation (a request, an answer, then the
    constraints); the model gets all of it and its answer to the last turn is scored."""
    from tests.conftest import IFBENCH

    rows = []
    for row in read_jsonl(IFBENCH / "IFBench_test.jsonl")[:4]:
        rows.append({**row, "messages": [{"role": "user", "content": "Write about the sea."},
                                         {"role": "assistant", "content": "The sea is wide."},
                                         {"role": "user", "content": row["prompt"]}]})  # fmt: skip
    data = write_jsonl(tmp_path / "mt.jsonl", rows)
    server = FaultServer(tmp_path, [{"status": 200}])
    try:
        args = [sys.executable, "-m", "adhere.cli", "eval", "ifbench-multiturn", "--model", "openai:fake", "-M",
                f"base_url={server.url}", "--data", str(data), "--out-dir", str(tmp_path / "run")]  # fmt: skip
        done = subprocess.run(args, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        sent = [request["body"]["messages"] for request in server.requests()]
        assert len(sent) == 4 and all(len(m) == 3 and m[1]["role"] == "assistant" for m in sent)
        responses = read_jsonl(tmp_path / "run" / "responses.jsonl")
        assert [r["response"] for r in responses] == [f"echo: {row['prompt']}" for row in rows]
        assert json.loads((tmp_path / "run" / "summary.json").read_text())["benchmark"] == "ifbench-multiturn"
        rows[1]["messages"] = rows[1]["messages"][:2]  # ends with the assistant: nothing to answer
        write_jsonl(data, rows)
        bad = subprocess.run([*args[:-1], str(tmp_path / "bad")], env=env, capture_output=True, text=True)
        assert bad.returncode == 2 and "mt.jsonl:2: the last of 'messages' must be the user's turn" in bad.stderr
        assert not (tmp_path / "bad").exists()
    finally:
        server.kill()
