"""The OpenAI-compatible backend against a real local server that misbehaves on purpose."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adhere.errors import InputError
from adhere.models import GenerationConfig
from adhere.models.base import ModelCallError, ModelUnavailableError, load_backend, parse_spec

HERE = Path(__file__).parent
MESSAGES = [{"role": "user", "content": "Say hi."}]
FAST = {"backoff_base": 0.05, "backoff_max": 0.2}


class FaultServer:
    def __init__(self, tmp_path: Path, actions: list[dict]):
        self.port_file = tmp_path / "port"
        self.log_file = tmp_path / "requests.jsonl"
        self.actions_file = tmp_path / "actions.json"
        self.set_actions(actions)
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "fault_server.py"), str(self.port_file), str(self.log_file), str(self.actions_file)]
        )
        deadline = time.monotonic() + 20
        while not self.port_file.exists():
            assert time.monotonic() < deadline, "fault server did not start"
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port_file.read_text()}/v1"

    def set_actions(self, actions: list[dict]) -> None:
        tmp = self.actions_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(actions))
        tmp.replace(self.actions_file)

    def requests(self) -> list[dict]:
        if not self.log_file.exists():
            return []
        return [json.loads(line) for line in self.log_file.read_text().splitlines()]

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture
def server(tmp_path):
    servers = []

    def start(actions):
        servers.append(FaultServer(tmp_path, actions))
        return servers[-1]

    yield start
    for s in servers:
        s.kill()


def complete(backend, config=None, sample=0):
    async def run():
        try:
            return await backend.complete(MESSAGES, config or GenerationConfig(), sample)
        finally:
            await backend.aclose()

    return asyncio.run(run())


def test_answers_and_request_body(server, monkeypatch):
    monkeypatch.setenv("TEST_KEY", "sk-secret")
    s = server([{"status": 200}])
    backend = load_backend("openai:fake", base_url=s.url, api_key_env="TEST_KEY")
    config = GenerationConfig(temperature=0.5, top_p=0.9, max_tokens=7, seed=3, stop=["###"])
    result = complete(backend, config, sample=2)
    assert result.text == "echo: Say hi." and result.finish_reason == "stop"
    assert (result.prompt_tokens, result.completion_tokens) == (5, 3)
    (request,) = s.requests()
    assert request["auth"] == "Bearer sk-secret"
    assert request["body"] == {
        "model": "fake", "messages": MESSAGES, "temperature": 0.5, "top_p": 0.9,
        "max_tokens": 7, "seed": 5, "stop": ["###"],
    }  # fmt: skip
    assert "sk-secret" not in json.dumps(backend.identity())


def test_500s_are_retried(server):
    s = server([{"status": 500}, {"status": 503}, {"status": 200}])
    result = complete(load_backend("openai:fake", base_url=s.url, **FAST))
    assert result.text == "echo: Say hi." and len(s.requests()) == 3


def test_429_honours_retry_after(server):
    s = server([{"status": 429, "retry_after": "1"}, {"status": 200}])
    start = time.monotonic()
    complete(load_backend("openai:fake", base_url=s.url, **FAST))
    assert time.monotonic() - start >= 1.0  # backoff alone would have waited under 0.2 s
    assert len(s.requests()) == 2


def test_slow_answers_time_out_and_are_retried(server):
    s = server([{"sleep": 3}, {"status": 200}])
    result = complete(load_backend("openai:fake", base_url=s.url, timeout=0.5, **FAST))
    assert result.text == "echo: Say hi."


def test_dropped_connections_are_retried(server):
    s = server([{"drop": True}, {"status": 200}])
    assert complete(load_backend("openai:fake", base_url=s.url, **FAST)).text == "echo: Say hi."


def test_giving_up_says_why(server):
    s = server([{"status": 500}])
    with pytest.raises(ModelCallError, match=r"HTTP 500: .*gave up after 3 attempts"):
        complete(load_backend("openai:fake", base_url=s.url, max_retries=2, **FAST))
    assert len(s.requests()) == 3


def test_client_errors_are_not_retried(server):
    s = server([{"status": 400}])
    with pytest.raises(ModelCallError, match="HTTP 400"):
        complete(load_backend("openai:fake", base_url=s.url, **FAST))
    assert len(s.requests()) == 1


def test_server_killed_mid_run(server):
    s = server([{"sleep": 0.3}])
    backend = load_backend("openai:fake", base_url=s.url, timeout=2, max_retries=2, **FAST)

    async def run():
        tasks = [asyncio.create_task(backend.complete(MESSAGES, GenerationConfig(), i)) for i in range(6)]
        await asyncio.sleep(0.1)
        s.kill()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await backend.aclose()
        return results

    start = time.monotonic()
    results = asyncio.run(run())
    assert all(isinstance(r, ModelCallError) for r in results), results
    assert time.monotonic() - start < 15


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_server_is_one_clear_error_within_the_timeout():
    backend = load_backend("openai:fake", base_url=f"http://127.0.0.1:{free_port()}/v1", timeout=2)

    async def run():
        try:
            await backend.check()
        finally:
            await backend.aclose()

    start = time.monotonic()
    with pytest.raises(ModelUnavailableError, match=r"cannot reach http://127\.0\.0\.1:\d+/v1: .*is the server running\?"):
        asyncio.run(run())
    assert time.monotonic() - start < 2.5


@pytest.mark.parametrize("spec", ["gpt-4", "openai:", "llama:x", "gguf"])
def test_unknown_model_specs_list_the_valid_forms(spec):
    with pytest.raises(InputError, match=r"unknown model spec .*use one of: local .*gguf:PATH.*openai:NAME"):
        parse_spec(spec)


def test_bad_base_url():
    with pytest.raises(InputError, match="is not an http"):
        load_backend("openai:x", base_url="localhost:8000")
