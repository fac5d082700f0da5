"""Multi-turn PIF: deterministic conversations, hand-checked scores, a real run that resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from adhere import conflicts
from adhere.bench.multiturn import FOLLOW_UP, ConversationSpec, build_conversations, score_rollouts
from adhere.bench.tasks import TASKS
from adhere.constraints import build
from tests.conftest import IFBENCH, IFEVAL, read_jsonl
from tests.models.test_openai_backend import FaultServer


def test_conversations_are_deterministic_and_compatible():
    spec = ConversationSpec(conversations=40, turns=4, seed=3)
    first, again = build_conversations(spec), build_conversations(spec)
    assert first == again
    assert first != build_conversations(ConversationSpec(conversations=40, turns=4, seed=4))
    for conversation in first:
        ids = [t["instruction_id"] for t in conversation["turns"]]
        assert len(ids) == 4 and conflicts(ids) == []
        for turn, spec_turn in enumerate(conversation["turns"]):
            sentence = build(spec_turn["instruction_id"], spec_turn["kwargs"]).describe()
            assert spec_turn["user"].endswith(sentence)
            assert (FOLLOW_UP in spec_turn["user"]) == (turn > 0)


def test_the_task_pool_is_adheres_own():
    benchmark_prompts = [r["prompt"] for r in read_jsonl(IFEVAL / "input_data.jsonl")]
    benchmark_prompts += [r["prompt"] for r in read_jsonl(IFBENCH / "IFBench_test.jsonl")]
    for task in TASKS:
        assert not any(task[:-1].lower() in prompt.lower() for prompt in benchmark_prompts), task
    assert len(set(TASKS)) == len(TASKS) >= 50


def test_bad_specs_are_refused():
    from adhere.errors import InputError

    with pytest.raises(InputError, match="--turns"):
        build_conversations(ConversationSpec(turns=0))
    with pytest.raises(InputError, match="--count \\(conversations\\)"):
        build_conversations(ConversationSpec(conversations=0))


def hand_conversation(key: str) -> dict:
    return {"key": key, "turns": [
        {"user": "u1", "instruction_id": "punctuation:no_comma", "kwargs": {}},
        {"user": "u2", "instruction_id": "change_case:english_lowercase", "kwargs": {}},
    ]}  # fmt: skip


def test_pif_and_pif_n_k_by_hand():
    conversations = [hand_conversation("a"), hand_conversation("b")]
    rows = {
        # a, rollout 0: turn 1 follows; turn 2 has a comma but is lower case: PIF 1, then 1/2.
        ("a/t0", 0): {"response": "fine then"}, ("a/t1", 0): {"response": "yes, this is lowercase"},
        # a, rollout 1: PIF 1 at both turns.
        ("a/t0", 1): {"response": "fine"}, ("a/t1", 1): {"response": "the weather is lovely today and we are going for a walk in the park"},
        # b, rollout 0: a comma at turn 1 (PIF 0); turn 2 all upper: PIF 1/2 (no comma, not lower).
        ("b/t0", 0): {"response": "no, sorry"}, ("b/t1", 0): {"response": "SURE THING"},
        # b, rollout 1: model error at turn 1; turn 2 never asked.
        ("b/t0", 1): {"response": None, "error": "boom"},
    }  # fmt: skip
    verdicts, block, summary = score_rollouts(conversations, rows, samples=2)
    assert len(verdicts) == 8
    assert block["pif_strict"] == [pytest.approx(2 / 4), pytest.approx((0.5 + 1 + 0.5 + 0) / 4)]
    # PIF = 1 at turn 1: a has 2 rollouts, b none; at turn 2: a has 1, b none.
    assert block["pif_n_k_strict"] == {"PIF-2-1": [0.5, 0.5], "PIF-2-2": [0.5, 0.0]}
    missing = [v for v in verdicts if not v["response_found"]]
    assert [v["key"] for v in missing] == ["b/t0", "b/t1"]
    assert missing[0]["strict"]["reasons"] == ["model error: boom"]
    assert summary.prompts == 8 and summary.strict.instruction.total == 12


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return {**os.environ, "ADHERE_CACHE_DIR": str(tmp_path / "cache"), "PYTHONUNBUFFERED": "1"}


def multiturn_args(url: str, out, *extra: str) -> list[str]:
    return [sys.executable, "-m", "adhere.cli", "eval", "multiturn", "--model", "openai:fake", "-M", f"base_url={url}",
            "--count", "4", "--turns", "3", "--samples", "2", "--temperature", "0.7", "--out-dir", str(out), *extra]  # fmt: skip


def test_a_multiturn_run_sends_the_history_and_scores_every_turn(tmp_path, env):
    server = FaultServer(tmp_path, [{"status": 200}])
    try:
        out = tmp_path / "run"
        result = subprocess.run(multiturn_args(server.url, out), env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert "PIF-2-2" in result.stdout and "PIF-2-1" in result.stdout
        requests = server.requests()
        assert len(requests) == 4 * 3 * 2
        conversations = read_jsonl(out / "conversations.jsonl")
        # The third turn's request carries both earlier turns and the echoed answers to them.
        third = [r["body"] for r in requests if len(r["body"]["messages"]) == 5]
        assert len(third) == 8
        for request in third:
            users = [m["content"] for m in request["messages"] if m["role"] == "user"]
            answers = [m["content"] for m in request["messages"] if m["role"] == "assistant"]
            assert answers == ["echo: " + u for u in users[:2]]
            assert any([t["user"] for t in c["turns"]] == users for c in conversations)
        verdicts = read_jsonl(out / "verdicts.jsonl")
        summary = json.loads((out / "summary.json").read_text())
        block = summary["multiturn"]
        for turn in range(3):
            pifs = [v["strict"]["pif"] for v in verdicts if v["turn"] == turn]
            assert block["pif_strict"][turn] == pytest.approx(sum(pifs) / len(pifs))
            assert all(len(v["instruction_id_list"]) == turn + 1 for v in verdicts if v["turn"] == turn)
        # Scores equal the registry's verdicts on the echoed answers.
        for v in verdicts:
            conversation = next(c for c in conversations if c["key"] == v["conversation"])
            answer = "echo: " + conversation["turns"][v["turn"]]["user"]
            for t, followed in zip(conversation["turns"], v["strict"]["follow_instruction_list"]):
                assert build(t["instruction_id"], t["kwargs"]).check(answer).passed == followed

        # `adhere report` reads a multi-turn run like any other.
        report = subprocess.run([sys.executable, "-m", "adhere.cli", "report", str(out), "--out", str(tmp_path / "r.html")],
                                env=env, capture_output=True, text=True)  # fmt: skip
        assert report.returncode == 0, report.stderr
    finally:
        server.kill()


def test_a_killed_multiturn_run_resumes_from_each_rollouts_next_turn(tmp_path, env):
    server = FaultServer(tmp_path, [{"sleep": 0.3}])
    try:
        out = tmp_path / "run"
        args = multiturn_args(server.url, out, "--no-cache", "-M", "concurrency=2")
        process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        responses = out / "responses.jsonl"
        deadline = time.monotonic() + 60
        while not (responses.exists() and responses.read_text().count("\n") >= 5):
            assert time.monotonic() < deadline and process.poll() is None, process.communicate()
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        before = read_jsonl(responses)
        asked = len(server.requests())
        server.set_actions([{"status": 200}])
        result = subprocess.run(args, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        rows = read_jsonl(responses)
        pairs = [(r["key"], r["sample"]) for r in rows]
        assert len(pairs) == len(set(pairs)) == 24 and all(r["response"] for r in rows)
        kept = {(r["key"], r["sample"]): r["response"] for r in before}
        assert all(r["response"] == kept[(r["key"], r["sample"])] for r in rows if (r["key"], r["sample"]) in kept)
        # Only what was missing was asked again (plus at most the calls in flight at the kill).
        assert len(server.requests()) - asked == 24 - len(before)
    finally:
        server.kill()


def test_data_does_not_apply_to_multiturn(tmp_path, env):
    result = subprocess.run(
        [sys.executable, "-m", "adhere.cli", "eval", "multiturn", "--model", "openai:x", "-M", "base_url=http://127.0.0.1:9/v1", "--data", "x.jsonl", "--out-dir", str(tmp_path / "o")],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2 and "--count" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
