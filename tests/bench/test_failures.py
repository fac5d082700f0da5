"""Failures never look like success: dead and refusing servers, a full disk, hostile kwargs and
rows, secrets in error texts. Each ends in one line and a non-zero exit, with what was written
kept whole."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adhere.bench.failures import FailurePolicy, ModelCallsFailedError
from adhere.bench.generate import EvalOptions, run_eval
from adhere.constraints import build
from adhere.errors import ConstraintError
from adhere.models.cache import ResponseCache
from tests.conftest import IFEVAL, read_jsonl, write_jsonl
from tests.models.test_openai_backend import FaultServer

FAST = {"backoff_base": 0.01, "backoff_max": 0.02}


def adhere(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "adhere.cli", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})  # fmt: skip


def prompts_file(tmp_path: Path, count: int, name: str = "prompts.jsonl") -> Path:
    rows = read_jsonl(IFEVAL / "input_data.jsonl")[:count]
    return write_jsonl(tmp_path / name, rows)


def one_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_a_server_that_refuses_every_call_trips_the_breaker(tmp_path):
    """A hosted model rejecting every request (HTTP 400): stopped after 10 in a row, exit 1, one
    line with the server's reason; not a 0% table."""
    server = FaultServer(tmp_path, [{"status": 400}])
    try:
        result = adhere("eval", "ifeval", "--model", "openai:m", "-M", f"base_url={server.url}", "--data",
                        prompts_file(tmp_path, 60), "--out-dir", tmp_path / "run", "-M", "concurrency=2",
                        env={"ADHERE_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip
        assert result.returncode == 1
        line = one_line(result)
        assert "stopped after 10 model calls in a row failed" in line and "HTTP 400" in line
        assert "0 of 60 responses are done" in line and "rerun the same command" in line
        assert len(server.requests()) <= 12  # not one call per prompt
        assert not (tmp_path / "run" / "summary.json").exists()
        assert "prompt" not in result.stdout  # no table
    finally:
        server.kill()


def test_a_server_that_dies_mid_run_stops_the_run_and_the_rerun_finishes(tmp_path):
    prompts = prompts_file(tmp_path, 30)
    server = FaultServer(tmp_path, [{"status": 200}] * 5 + [{"drop": True}])
    out, cache = tmp_path / "run", ResponseCache(tmp_path / "cache.sqlite")
    options = EvalOptions(benchmark="ifeval", model="openai:m", data=str(prompts),
                          backend_options={"base_url": server.url, "concurrency": 1, **FAST})  # fmt: skip
    try:
        with pytest.raises(ModelCallsFailedError, match=r"stopped after 10 model calls in a row failed.*5 of 30"):
            run_eval(options, out, cache=cache, command=["test"])
        asked = len(server.requests())
        assert asked <= 5 + 10 * 6  # ten calls, each with its retries; not thirty
        assert [r["response"] is not None for r in read_jsonl(out / "responses.jsonl")].count(True) == 5
        server.set_actions([{"status": 200}])
        summary = run_eval(options, out, cache=cache, command=["test"])
        assert summary.prompts == 30 and summary.missing_responses == []
    finally:
        server.kill()


def test_a_multiturn_run_has_the_same_breaker(tmp_path):
    server = FaultServer(tmp_path, [{"status": 400}])
    try:
        result = adhere("eval", "multiturn", "--model", "openai:m", "-M", f"base_url={server.url}", "--conversations", "30",
                        "--out-dir", tmp_path / "run", env={"ADHERE_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip
        assert result.returncode == 1
        assert "stopped after 10 model calls in a row failed" in one_line(result)
        assert not (tmp_path / "run" / "summary.json").exists()
    finally:
        server.kill()


def test_an_api_key_echoed_by_the_server_is_never_stored(tmp_path):
    server = FaultServer(tmp_path, [{"status": 401, "echo_auth": True}])
    secret = "sk-test-abcdefghijklmnop1234"
    try:
        result = adhere("eval", "ifeval", "--model", "openai:m", "-M", f"base_url={server.url}", "--data",
                        prompts_file(tmp_path, 3), "--out-dir", tmp_path / "run", "--max-failures", "3",
                        env={"ADHERE_CACHE_DIR": str(tmp_path / "cache"), "OPENAI_API_KEY": secret})  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert server.requests()[0]["auth"] == f"Bearer {secret}"  # it was sent, and echoed back
        for path in (tmp_path / "run").iterdir():
            assert secret not in path.read_text(encoding="utf-8"), path.name
        errors = [r["error"] for r in read_jsonl(tmp_path / "run" / "responses.jsonl")]
        assert all("HTTP 401" in e and "Bearer ***" in e for e in errors)
        report = adhere("report", tmp_path / "run", "--out", tmp_path / "report.html")
        assert secret not in (tmp_path / "report.html").read_text() and secret not in report.stdout
    finally:
        server.kill()


def test_a_password_in_the_base_url_is_not_recorded(tmp_path):
    server = FaultServer(tmp_path, [{"status": 200}])
    url = server.url.replace("http://", "http://user:hunter2-secret@") + "?api_key=qwerty-secret&v=1"
    try:
        result = adhere("eval", "ifeval", "--model", "openai:m", "-M", f"base_url={url}", "--data", prompts_file(tmp_path, 2),
                        "--out-dir", tmp_path / "run", env={"ADHERE_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip
        assert result.returncode == 0, result.stderr
        config = (tmp_path / "run" / "config.json").read_text()
        assert "hunter2" not in config and "qwerty" not in config
        recorded = json.loads(config)["backend_options"]["base_url"]
        assert recorded.startswith("http://user:***@127.0.0.1:") and "api_key=***&v=1" in recorded
        cache = subprocess.run(["sqlite3", str(tmp_path / "cache" / "cache.sqlite"), ".dump"], capture_output=True,
                               text=True) if shutil.which("sqlite3") else None  # fmt: skip
        if cache is not None:
            assert "hunter2" not in cache.stdout
    finally:
        server.kill()


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs (root only: skipped elsewhere), grown on request with ``grow()``."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")

    def grow() -> None:
        subprocess.run(["mount", "-o", "remount,size=64m", str(mount)], check=True)

    yield mount, grow
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.parametrize("free", [50_000, 120_000], ids=["while-answering", "while-compacting-or-scoring"])
def test_a_full_disk_is_one_line_and_nothing_written_is_lost(tmp_path, tiny_disk, free):
    disk, grow = tiny_disk
    long = [{**row, "key": row["key"]} for row in read_jsonl(IFEVAL / "input_data.jsonl")[:200]]
    prompts = write_jsonl(tmp_path / "prompts.jsonl", long)
    server = FaultServer(tmp_path, [{"status": 200}])  # echoes each prompt: about 200 KB of answers
    args = ("eval", "ifeval", "--model", "openai:m", "-M", f"base_url={server.url}", "--data", prompts, "--out-dir", disk / "run")
    env = {"ADHERE_CACHE_DIR": str(tmp_path / "cache")}
    try:
        (disk / "filler").write_bytes(b"x" * (256 * 1024 - free))
        full = adhere(*args, env=env)
        assert full.returncode == 1
        line = one_line(full)
        assert "No space left on device" in line and "rerun the same command" in line
        rows = read_jsonl(disk / "run" / "responses.jsonl")  # whole lines only: every one parses
        assert 0 < len(rows) <= 200 and not (disk / "run" / "summary.json").exists()
        if free < 100_000:
            assert len(rows) < 200  # the disk filled while answers were appended
        assert not [p for p in (disk / "run").iterdir() if p.name.endswith(".tmp")]
        grow()
        done = adhere(*args, env=env)
        assert done.returncode == 0, done.stderr
        assert len(read_jsonl(disk / "run" / "responses.jsonl")) == 200
    finally:
        server.kill()


def test_a_full_disk_under_the_cache_is_one_line(tmp_path, tiny_disk):
    disk, _ = tiny_disk
    (disk / "filler").write_bytes(b"x" * 200_000)
    server = FaultServer(tmp_path, [{"status": 200}])
    try:
        result = adhere("eval", "ifeval", "--model", "openai:m", "-M", f"base_url={server.url}", "--data",
                        prompts_file(tmp_path, 200), "--out-dir", tmp_path / "run", "--cache", disk / "cache.sqlite")  # fmt: skip
        assert result.returncode == 1
        line = one_line(result)
        assert "full" in line.lower() or "No space left" in line
        assert "--no-cache" in line or "free some space" in line
    finally:
        server.kill()


def test_a_catastrophic_keyword_pattern_keeps_its_verdict_in_bounded_time():
    started = time.perf_counter()
    verdict = build("keywords:existence", {"keywords": ["(a+)+$"]}).check("a" * 30 + "!")
    assert time.perf_counter() - started < 5  # `re` takes minutes here; a hang guard, not a speed claim
    assert not verdict.passed and "missing keyword" in verdict.reason  # the reference's verdict
    stuck = build("keywords:frequency", {"keyword": "(a|aa)+$", "frequency": 1, "relation": "at least"})
    started = time.perf_counter()
    verdict = stuck.check("a" * 40 + "!")
    assert time.perf_counter() - started < 5
    assert not verdict.passed and "could not check" in verdict.reason


@pytest.mark.parametrize(
    ("cid", "kwargs"),
    [("keywords:existence", {"keywords": ["(unclosed"]}), ("keywords:forbidden_words", {"forbidden_words": ["a["]}),
     ("keywords:frequency", {"keyword": "*star", "frequency": 1, "relation": "at least"}),
     ("detectable_content:postscript", {"postscript_marker": "P.S.("}),
     ("detectable_format:multiple_sections", {"section_spliter": "SECTION)", "num_sections": 2})],
)  # fmt: skip
def test_a_kwarg_that_is_not_a_valid_pattern_is_refused_when_built(cid, kwargs):
    with pytest.raises(ConstraintError, match="is used as a regular expression"):
        build(cid, kwargs)


def test_bad_kwargs_in_an_eval_data_file_name_the_file_and_line_and_write_nothing(tmp_path):
    rows = read_jsonl(IFEVAL / "input_data.jsonl")[:3]
    rows[2] = {**rows[2], "instruction_id_list": ["keywords:existence"], "kwargs": [{"keywords": ["(a"]}]}
    prompts = write_jsonl(tmp_path / "prompts.jsonl", rows)
    result = adhere("eval", "ifeval", "--model", "openai:m", "-M", "base_url=http://127.0.0.1:9/v1", "--data", prompts,
                    "--out-dir", tmp_path / "run")  # fmt: skip
    assert result.returncode == 2
    assert one_line(result).startswith(f"adhere: error: {prompts}:3: keywords:existence")
    assert not (tmp_path / "run").exists()


def test_a_score_that_fails_leaves_no_out_folder(tmp_path):
    bad = tmp_path / "responses.jsonl"
    bad.write_text('{"key": 1, "prompt": "p", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}], '
                   '"response": "ok"}\n{"key": 2, "broken\n', encoding="utf-8")  # fmt: skip
    result = adhere("score", bad, "--out-dir", tmp_path / "scored")
    assert result.returncode == 2 and "responses.jsonl:2" in one_line(result)
    assert not (tmp_path / "scored").exists()


def test_a_model_that_will_not_load_leaves_no_run_folder(tmp_path):
    result = adhere("eval", "ifeval", "--model", f"gguf:{tmp_path / 'missing.gguf'}", "--data",
                    prompts_file(tmp_path, 2), "--out-dir", tmp_path / "run")  # fmt: skip
    assert result.returncode == 2
    one_line(result)
    assert not (tmp_path / "run").exists()


def test_failure_policy_refuses_nonsense():
    with pytest.raises(ValueError, match="--max-failures"):
        FailurePolicy(max_failures=-1)
