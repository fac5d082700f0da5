"""The run directory's guarantees: any Unicode round-trips through its line format, the cache and
the verdicts; one process at a time writes a folder; a kill leaves no temporary files behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adhere.bench.items import Item
from adhere.bench.run import RunDir
from adhere.bench.scoring import write_scores
from adhere.constraints import build
from adhere.errors import InputError
from adhere.jsonl import (
    atomic_write,
    json_line,
    read_jsonl,
    read_run_rows,
    remove_stale_temporaries,
    split_lines,
)
from adhere.lock import FolderBusyError, FolderLock
from adhere.models.base import Completion
from adhere.models.cache import ResponseCache
from adhere.report.runs import load_run
from tests.conftest import IFEVAL, write_jsonl
from tests.conftest import read_jsonl as read_rows
from tests.models.test_openai_backend import FaultServer

any_char = st.characters(exclude_categories=())
# Line breaks of every kind a reader might split at, inside keys and responses.
breaks = st.sampled_from(["\n", "\r", "\r\n", "\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"])
texts = st.lists(st.one_of(st.text(any_char, max_size=20), breaks), max_size=8).map("".join)
keys = st.one_of(st.integers(-(10**18), 10**18), texts)


def test_json_line_escapes_exactly_the_characters_that_break_lines_or_utf8():
    row = {"k": "a\u2028b\u2029c\u0085d\ud83de\n"}
    line = json_line(row)
    assert line.count("\n") == 1 and line.endswith("\n") and line.splitlines() == [line[:-1]]
    line.encode("utf-8")
    assert json.loads(line) == row
    assert json_line({"k": "é漢😀"}) == '{"k": "é漢😀"}\n'  # other text stays readable


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(keys, st.integers(0, 3), texts), min_size=1, max_size=6))
def test_any_unicode_round_trips_through_a_run_directory(tmp_path_factory, rows):
    run = RunDir(tmp_path_factory.mktemp("run"))
    run.start({"model": "x", "system_prompt": "".join(t for _, _, t in rows)})
    for key, sample, text in rows:
        record = Completion(text, "stop", 1, 2, 0.5).__dict__
        run.append_response(key, sample, record, False)
    run.close()
    raw = run.responses_path.read_bytes()
    raw.decode("utf-8")  # valid UTF-8, whatever the text held
    assert len(raw.decode("utf-8").splitlines()) == len(rows)  # one line per row, even for str.splitlines
    expected = {}
    for key, sample, text in rows:
        expected[(key, sample)] = Completion(text, None, None, None, 0).text  # lone surrogates -> U+FFFD
    found = run.finished()

    def raw(row):  # the text as the model sent it (a reasoning-shaped one's answer is "response")
        return row.get("raw_response", row["response"])

    assert {pair: raw(row) for pair, row in found.items()} == expected
    # A rerun with the same settings resumes (the settings compare equal after a round trip).
    run.release()
    again = RunDir(run.path)
    again.start({"model": "x", "system_prompt": "".join(t for _, _, t in rows)})
    ordered = again.compact(list(expected))
    assert [raw(row) for row in ordered] == list(expected.values())
    assert [raw(row) for row in read_run_rows(again.responses_path)] == list(expected.values())
    again.release()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(texts, min_size=1, max_size=5))
def test_any_unicode_round_trips_through_the_cache(tmp_path_factory, texts):
    cache = ResponseCache(tmp_path_factory.mktemp("cache") / "c.sqlite")
    for number, text in enumerate(texts):
        record = Completion(text, "stop", 1, 2, 0.1).__dict__
        cache.put(f"k{number}", "m", record)
        assert Completion.from_record(cache.get(f"k{number}")).__dict__ == record


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(keys, texts), min_size=1, max_size=5, unique_by=lambda r: json.dumps(r[0])))
def test_any_unicode_round_trips_through_verdicts_and_the_report(tmp_path_factory, rows):
    out = tmp_path_factory.mktemp("scored")
    constraint = build("punctuation:no_comma")
    items = [Item(key, "p", ("punctuation:no_comma",), (constraint,), text) for key, text in rows]
    write_scores(items, out, "ifeval")
    verdicts = read_run_rows(out / "verdicts.jsonl")
    assert [v["key"] for v in verdicts] == [key for key, _ in rows]
    run = load_run(out)
    assert len(run.results) == len(rows)


def eval_twice(tmp_path, server: FaultServer, rows: list[dict]) -> None:
    """`adhere eval` of ``rows`` against ``server`` into tmp_path/run, then the same command
    again (a resume from the run directory and the cache); both must succeed."""
    prompts = write_jsonl(tmp_path / "prompts.jsonl", rows)
    args = [sys.executable, "-m", "adhere.cli", "eval", "ifeval", "--model", "openai:fake", "-M", f"base_url={server.url}",
            "--data", str(prompts), "--out-dir", str(tmp_path / "run")]  # fmt: skip
    for _ in range(2):
        done = subprocess.run(args, capture_output=True, text=True, env=_env({"ADHERE_CACHE_DIR": str(tmp_path / "cache")}))
        assert done.returncode == 0, done.stderr


def test_a_response_with_a_line_separator_resumes_and_reruns_score(tmp_path):
    """The defect: U+2028 in a response made every rerun fail with 'not a response row', and
    removing the file did not help (the cache answered the same again)."""
    rows = read_rows(IFEVAL / "input_data_gpt4_20231107_145030.jsonl")[:3]
    rows[0]["prompt"] += " tail\u2028separated\u2029paragraph\u0085next"
    rows[1]["key"] = "key\u2028with separator"
    server = FaultServer(tmp_path, [{"status": 200}])
    try:
        eval_twice(tmp_path, server, rows)
        text = (tmp_path / "run" / "responses.jsonl").read_text(encoding="utf-8")
        assert "\u2028" not in text and len(text.splitlines()) == 3
        score = subprocess.run([sys.executable, "-m", "adhere.cli", "score", str(tmp_path / "run"), "--quiet"],
                               capture_output=True, text=True, env=_env({"ADHERE_CACHE_DIR": str(tmp_path / "cache")}))  # fmt: skip
        assert score.returncode == 0, score.stderr
    finally:
        server.kill()


def test_a_lone_surrogate_from_the_server_is_stored_as_u_fffd_and_reruns_work(tmp_path):
    rows = read_rows(IFEVAL / "input_data_gpt4_20231107_145030.jsonl")[:2]
    answer = '{"choices": [{"message": {"content": "half \\ud83d an emoji"}, "finish_reason": "stop"}], "usage": 3}'
    server = FaultServer(tmp_path, [{"raw": answer}])
    try:
        eval_twice(tmp_path, server, rows)
        responses = read_rows(tmp_path / "run" / "responses.jsonl")
        assert [r["response"] for r in responses] == ["half \ufffd an emoji"] * 2
    finally:
        server.kill()


def test_one_process_at_a_time_holds_a_folder(tmp_path):
    first = RunDir(tmp_path / "run")
    first.start({"model": "a"})
    second = RunDir(tmp_path / "run")
    with pytest.raises(FolderBusyError, match="another adhere run is writing here"):
        second.start({"model": "b"})
    assert json.loads(first.config_path.read_text())["model"] == "a"  # nothing of the second written
    first.release()
    with pytest.raises(InputError, match="other settings"):
        second.start({"model": "b"})
    second.start({"model": "a"})
    second.release()


def test_a_lock_left_by_a_killed_process_is_free(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from adhere.lock import FolderLock; "
                               f"FolderLock({str(tmp_path)!r}).acquire(); print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderBusyError, match=rf"process {holder.pid}"):
            FolderLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    with FolderLock(tmp_path):  # the kernel dropped the killed holder's lock: no stale lock
        pass


def test_a_lock_on_a_folder_it_made_leaves_nothing_when_nothing_was_written(tmp_path):
    with FolderLock(tmp_path / "new"):
        pass
    assert not (tmp_path / "new").exists()
    with FolderLock(tmp_path / "kept") as lock:
        (lock.folder / "config.json").write_text("{}")
    assert (tmp_path / "kept" / "config.json").exists()


def test_two_runs_with_other_settings_started_together_never_mix(tmp_path):
    """Both start at once on one --out-dir with different settings: one runs, the other is refused
    with one line and exit 2, and every row and config.json belong to the one that ran."""
    rows = read_rows(IFEVAL / "input_data_gpt4_20231107_145030.jsonl")[:4]
    prompts = write_jsonl(tmp_path / "prompts.jsonl", rows)
    server = FaultServer(tmp_path, [{"status": 200, "sleep": 0.3}])
    out = tmp_path / "run"
    try:
        commands = [
            [sys.executable, "-m", "adhere.cli", "eval", "ifeval", "--model", "openai:fake", "-M", f"base_url={server.url}",
             "--data", str(prompts), "--out-dir", str(out), "--max-tokens", tokens, "-M", "concurrency=1"]
            for tokens in ("64", "65")
        ]  # fmt: skip
        processes = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      env=_env({"ADHERE_CACHE_DIR": str(tmp_path / f"cache{i}")}))
                     for i, c in enumerate(commands)]  # fmt: skip
        results = [(p.wait(timeout=120), p.stderr.read()) for p in processes]
    finally:
        server.kill()
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert len(refused.strip().splitlines()) == 1
    assert "another adhere run is writing here" in refused or "other settings (generation)" in refused
    config = json.loads((out / "config.json").read_text())
    ran = next(i for i, (code, _) in enumerate(results) if code == 0)
    assert config["generation"]["max_tokens"] == (64, 65)[ran]
    assert len(read_rows(out / "responses.jsonl")) == 4
    assert len(server.requests()) == 4  # the refused run asked the model nothing


def test_temporary_files_of_killed_writers_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".responses.jsonl.{dead_pid}.abc123.tmp"
    other = tmp_path / f".verdicts.jsonl.{dead_pid}.def456.tmp"
    live = tmp_path / f".summary.json.{os.getppid()}.xyz.tmp"
    for path in (stale, other, live):
        path.write_text("half")
    with atomic_write(tmp_path / "responses.jsonl") as handle:  # a write removes its own file's leftovers
        handle.write("x\n")
    assert not stale.exists() and other.exists() and live.exists()
    run = RunDir(tmp_path)  # a run cleans the whole folder
    run.start({"model": "x"})
    run.release()
    assert not other.exists() and live.exists()
    assert remove_stale_temporaries(tmp_path) == 0


@pytest.mark.parametrize("torn", [b'{"key": 2, "sam', b"x" * 70000])
def test_a_row_appended_after_a_torn_line_starts_a_line_of_its_own(tmp_path, torn):
    """A process killed mid-line leaves a torn tail; the next writer may append before reading
    the rows (25 kills in the test below once met it): the torn tail is cut, not joined to the
    new row, so the file reads, with every whole row."""
    run = RunDir(tmp_path / "run")
    run.start({"model": "x"})
    whole = b'{"key": 1, "sample": 0, "response": "a", "error": null}\n'
    run.responses_path.write_bytes(whole + torn)
    run.append({"key": 3, "sample": 0, "response": "c", "error": None})
    run.release()
    assert sorted(key for key, _ in run.finished()) == [1, 3]
    assert run.responses_path.read_bytes().startswith(whole)


def test_killed_writers_leave_no_temporary_files(tmp_path):
    """25 kills at random moments of a run that rewrites its files: afterwards, and after one
    clean run, no temporary file is left and the run's files read."""
    script = (
        "import sys\nfrom adhere.bench.run import RunDir\nfrom adhere.jsonl import write_json\n"
        "run = RunDir(sys.argv[1]); run.start({'model': 'x'})\n"
        "for i in range(10**9):\n"
        "    run.append({'key': i % 50, 'sample': 0, 'response': 'r' * 2000, 'error': None})\n"
        "    if i % 50 == 0:\n"
        "        run.compact([(k, 0) for k in range(50)]); write_json(run.path / 'summary.json', {'i': i})\n"
    )
    out = tmp_path / "run"
    for number in range(25):
        process = subprocess.Popen([sys.executable, "-c", script, str(out)])
        time.sleep(0.3 + (number % 5) * 0.07)
        process.kill()
        process.wait()
    done = subprocess.run([sys.executable, "-c", script.replace("10**9", "60"), str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []
    assert {row["key"] for row in read_run_rows(out / "responses.jsonl")} == set(range(50))
    assert json.loads((out / "summary.json").read_text())["i"] >= 0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[" * 100_000, "nested too deeply"),
        ('{"key": ' + "9" * 5000 + "}", "unreadable JSON"),
        ('{"key": "unterminated', "Unterminated string starting at column 9"),
    ],
)
def test_hostile_json_lines_are_one_clear_error_naming_file_and_line(tmp_path, line, message):
    path = tmp_path / "in.jsonl"
    path.write_text('{"ok": 1}\n' + line, encoding="utf-8")  # the last line unterminated
    with pytest.raises(InputError) as info:
        list(read_jsonl(path))
    assert str(info.value).startswith(f"{path}:2: ") and message in str(info.value)
    assert " at at " not in str(info.value)


def test_split_lines_ends_lines_at_newlines_only():
    assert split_lines('{"a": "x\u2028y"}\n\n{"b": 1}\n') == ['{"a": "x\u2028y"}', '{"b": 1}']


def _env(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", **extra}
