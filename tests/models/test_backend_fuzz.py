"""The OpenAI-compatible backend against a real server answering arbitrary JSON (and non-JSON):
every answer is a valid Completion or a ModelCallError, and a Completion survives the cache, the
run directory and the scorer. Nothing else may escape, and nothing malformed may be cached."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adhere import build, verify
from adhere.bench.run import RunDir
from adhere.models import GenerationConfig
from adhere.models.base import Completion, ModelCallError, load_backend
from adhere.models.cache import ResponseCache, cached_complete
from tests.models.test_openai_backend import MESSAGES, FaultServer

any_char = st.characters(exclude_categories=())
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**30), st.floats(allow_nan=False),
    st.text(any_char, max_size=40),
)
json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
contents = st.one_of(
    json_values,
    st.text(any_char, max_size=200),
    st.lists(st.one_of(st.fixed_dictionaries({"type": st.just("text"), "text": st.text(any_char, max_size=30)}), json_values),
             max_size=3),
)  # fmt: skip
completion_shaped = st.fixed_dictionaries(
    {"choices": st.one_of(
        st.lists(st.fixed_dictionaries({"message": st.one_of(st.fixed_dictionaries({"content": contents}), json_values),
                                        "finish_reason": json_values}), max_size=2),
        json_values)},
    optional={"usage": st.one_of(json_values, st.fixed_dictionaries({"prompt_tokens": json_values,
                                                                     "completion_tokens": json_values}))},
)  # fmt: skip
bodies = st.one_of(
    completion_shaped.map(json.dumps),
    json_values.map(json.dumps),
    st.text(any_char, max_size=100),  # not JSON at all
    st.sampled_from(["[" * 100_000, '{"choices": ' + "[" * 50_000, "9" * 5000, "", "null", '"\\ud83d"']),
)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    server = FaultServer(tmp_path_factory.mktemp("fuzz"), [{"status": 200}])
    yield server
    server.kill()


def _ask(server: FaultServer, body: str, cache: ResponseCache) -> tuple[dict, bool]:
    server.set_actions([{"raw": body}])
    backend = load_backend("openai:fuzz", base_url=server.url, max_retries=0)

    async def run():
        try:
            return await cached_complete(backend, cache, MESSAGES, GenerationConfig(), 0)
        finally:
            await backend.aclose()

    return asyncio.run(run())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=bodies)
def test_any_server_answer_is_a_valid_completion_or_one_model_call_error(fuzz_server, tmp_path_factory, body):
    folder = tmp_path_factory.mktemp("case")
    cache = ResponseCache(folder / "cache.sqlite")
    try:
        record, cached = _ask(fuzz_server, body, cache)
    except ModelCallError as error:
        message = str(error)
        assert message and "\n" not in message and len(message) < 1000
        message.encode("utf-8")  # storable in a run file as it is
        return
    completion = Completion(**record)
    assert record == dataclasses.asdict(completion)  # already valid: nothing left to clean
    assert isinstance(completion.text, str)
    completion.text.encode("utf-8")
    for count in (completion.prompt_tokens, completion.completion_tokens):
        assert count is None or (type(count) is int and count >= 0)
    assert completion.finish_reason is None or isinstance(completion.finish_reason, str)
    # It round-trips through the cache (a hit returns the same record) ...
    again, hit = _ask(fuzz_server, "not asked: the cache answers", cache)
    assert hit and again == record
    # ... through a run directory, and the scorer takes it.
    run = RunDir(folder / "run")
    run.start({"model": "openai:fuzz"})
    run.append_response("k", 0, record, cached)
    run.close()
    assert run.finished()[("k", 0)]["response"] == completion.text
    run.release()
    verify(completion.text, [build("punctuation:no_comma"), build("keywords:existence", {"keywords": ["a"]})])


def test_a_malformed_record_in_the_cache_is_a_miss_and_is_replaced(fuzz_server, tmp_path):
    """An older adhere cached whatever the server sent (content as a list, a number): such a
    record is not returned, the model is asked again, and the good answer replaces it."""
    cache = ResponseCache(tmp_path / "cache.sqlite")
    good = json.dumps({"choices": [{"message": {"content": "fine"}, "finish_reason": "stop"}]})
    record, cached = _ask(fuzz_server, good, cache)
    assert not cached
    with sqlite3.connect(cache.path) as db:
        (key,) = [row[0] for row in db.execute("SELECT key FROM responses")]
    for poisoned in ({**record, "text": ["a", "list"]}, {**record, "text": 7}, "not a record", {"latency_s": 1}):
        cache.put(key, "openai:fuzz", poisoned)
        again, hit = _ask(fuzz_server, good, cache)
        assert not hit and again["text"] == "fine"
        assert cache.get(key)["text"] == "fine"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ('{"choices": [{"message": {"content": "a\\ud83db"}}]}', "a\ufffdb"),
        ('{"choices": [{"message": {"content": "\\ud83d\\ude00"}}]}', "\U0001f600"),
        ('{"choices": [{"message": {"content": [{"type": "text", "text": "one "}, {"type": "text", "text": "two"}]}}]}',
         "one two"),
        ('{"choices": [{"message": {"content": null}}]}', ""),
        ('{"choices": [{"message": {"content": "x"}}], "usage": "lots"}', "x"),
        ('{"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": "5", "completion_tokens": true}}', "x"),
    ],
)
def test_odd_but_valid_answers_are_read(fuzz_server, tmp_path, body, text):
    record, _ = _ask(fuzz_server, body, ResponseCache(tmp_path / "c.sqlite"))
    assert record["text"] == text
    assert record["prompt_tokens"] is None and record["completion_tokens"] is None


@pytest.mark.parametrize(
    "body",
    ['{"choices": [{"message": {"content": 7}}]}', '{"choices": [{"message": {"content": {"a": 1}}}]}',
     '{"choices": [{"message": {"content": [1, 2]}}]}', "[" * 100_000, '{"choices": []}', "<html>oops</html>"],
)  # fmt: skip
def test_answers_without_text_are_failed_calls_never_cached(fuzz_server, tmp_path, body):
    cache = ResponseCache(tmp_path / "c.sqlite")
    with pytest.raises(ModelCallError, match="malformed completion response|not text"):
        _ask(fuzz_server, body, cache)
    assert cache.info()["responses"] == 0
