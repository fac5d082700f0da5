"""The response cache (a real SQLite file, several processes) and the generation config."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from adhere.errors import InputError
from adhere.models import GenerationConfig, ResponseCache, cache_key

MODEL = {"backend": "gguf", "path": "/m.gguf", "sha256": "ab" * 32}
MESSAGES = [{"role": "user", "content": "Say hi."}]


def test_key_changes_with_everything_that_changes_a_response():
    config = GenerationConfig().to_dict()
    base = cache_key(MODEL, MESSAGES, config, 0)
    assert base == cache_key(dict(MODEL), [dict(m) for m in MESSAGES], dict(config), 0)
    assert base != cache_key({**MODEL, "sha256": "cd" * 32}, MESSAGES, config, 0)
    assert base != cache_key(MODEL, [{"role": "user", "content": "Say hi!"}], config, 0)
    assert base != cache_key(MODEL, MESSAGES, {**config, "temperature": 0.7}, 0)
    assert base != cache_key(MODEL, MESSAGES, config, 1)


def test_put_get_info_clear(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    key = cache_key(MODEL, MESSAGES, GenerationConfig().to_dict(), 0)
    assert cache.get(key) is None
    cache.put(key, "gguf:/m.gguf", {"text": "hi", "completion_tokens": 1})
    assert cache.get(key) == {"text": "hi", "completion_tokens": 1}
    info = cache.info()
    assert info["responses"] == 1 and info["models"] == {"gguf:/m.gguf": 1}
    with sqlite3.connect(tmp_path / "c.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert cache.clear() == 1
    assert cache.get(key) is None and cache.info()["responses"] == 0


def _writer(path, start):
    cache = ResponseCache(path)
    for i in range(start, start + 200):
        cache.put(f"k{i}", "m", {"i": i})


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "c.sqlite"
    ResponseCache(path)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(path, n * 200)) for n in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    cache = ResponseCache(path)
    assert cache.info()["responses"] == 600
    assert cache.get("k599") == {"i": 599}


def test_cache_location_comes_from_the_environment_when_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("ADHERE_CACHE_DIR", str(tmp_path / "here"))
    assert ResponseCache().path == tmp_path / "here" / "cache.sqlite"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": -1}, "temperature must be between 0 and 10"),
        ({"top_p": 0}, "top_p must be in (0, 1]"),
        ({"max_tokens": 0}, "max_tokens must be a positive integer"),
        ({"samples": 0}, "samples must be a positive integer"),
        ({"seed": "1"}, "seed must be an integer or null"),
        ({"stop": "###"}, "stop must be a list of non-empty strings"),
    ],
)
def test_bad_generation_config_is_refused(kwargs, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)").replace("]", r"\]")):
        GenerationConfig(**kwargs)


def test_generation_config_round_trips_and_seeds_samples():
    config = GenerationConfig(temperature=0.7, stop=["###"], samples=4, seed=10)
    assert GenerationConfig.from_dict(config.to_dict()) == config
    assert [config.sample_seed(i) for i in range(3)] == [10, 11, 12]
    with pytest.raises(InputError, match="unknown field 'temp'"):
        GenerationConfig.from_dict({"temp": 1})
