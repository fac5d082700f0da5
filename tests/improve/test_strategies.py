"""Strategies against a scripted model: choices, tie rules, refinement, judge fallback, cost, cache."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from adhere import build
from adhere.errors import InputError
from adhere.improve import load_strategy
from adhere.improve.base import Model
from adhere.models.base import Completion
from adhere.models.cache import ResponseCache
from adhere.models.config import GenerationConfig
from tests.conftest import IFEVAL, read_jsonl, write_jsonl
from tests.models.test_openai_backend import FaultServer

NO_COMMA_LOWER = [build("punctuation:no_comma"), build("change_case:english_lowercase")]
GOOD = "the weather is lovely today and we are going for a walk in the park"


class Scripted:
    """A model whose answers depend only on what it is asked (a real object, no patching)."""

    name = "scripted"

    def __init__(self, samples: dict[int, str] | None = None, cut_off: frozenset[str] = frozenset()):
        self.samples = samples or {}
        self.cut_off = cut_off
        """Answers reported as stopped by the token limit."""
        self.asked: list[tuple[str, int, float]] = []

    def identity(self):
        return {"backend": "scripted"}

    async def complete(self, messages, config, sample):
        last = messages[-1]["content"]
        self.asked.append((last, sample, config.temperature))
        if last.startswith("List every instruction"):
            text = "- Use no commas.\n- Write in lowercase."
        elif last.startswith("Request:"):
            response = last.split("Response:\n", 1)[1].split("\n\nDoes the response", 1)[0]
            wants_lower = "lowercase" in last.split("constraint:", 1)[1]
            ok = response == response.lower() if wants_lower else "," not in response
            text = "YES" if ok else "NO"
        elif "Problems found" in last:
            text = GOOD
        elif config.temperature == 0.0:
            text = "Hello, World"
        else:
            text = self.samples.get(sample, "Another, Try")
        return Completion(text, "length" if text in self.cut_off else "stop", 10, len(text.split()), 0.01)

    async def aclose(self):
        pass


def run(strategy, backend, constraints, config=None, cache=None):
    model = Model(backend, config or GenerationConfig(), cache)
    return asyncio.run(load_strategy(strategy).run(model, "Describe the weather.", constraints))


def test_best_of_n_keeps_the_best_and_breaks_ties_by_the_earliest():
    backend = Scripted({0: "Hello, World", 1: "hi there, " + GOOD, 2: GOOD, 3: GOOD})
    result = run("best-of-n:4", backend, NO_COMMA_LOWER)
    assert [c.strict for c in result.candidates] == [0.0, 0.5, 1.0, 1.0]
    assert result.chosen == 2 and result.response == GOOD
    assert [s for _, s, _ in backend.asked] == [0, 1, 2, 3]
    assert {t for _, _, t in backend.asked} == {0.7}  # greedy run: samples at 0.7
    assert result.cost()["calls"] == 4


def test_best_of_n_with_greedy_also_asks_for_the_greedy_answer_first():
    backend = Scripted({0: GOOD, 1: "another, try"})
    result = run("best-of-n:2+greedy", backend, NO_COMMA_LOWER)
    assert [(c.origin, c.strict) for c in result.candidates] == [("greedy", 0.0), ("sample 0", 1.0), ("sample 1", 0.5)]
    assert [(s, t) for _, s, t in backend.asked] == [(0, 0.0), (0, 0.7), (1, 0.7)]
    assert result.chosen == 1 and load_strategy("best-of-n:2+greedy").name == "best-of-n:2+greedy"
    with pytest.raises(InputError, match="best-of-n:N\\[\\+greedy\\]"):
        load_strategy("best-of-n:2+beam")


def test_greedy_is_the_greedy_answer_alone():
    """What the model says when evaluated, and nothing else: --repair then fixes it where it can."""
    backend = Scripted({0: GOOD})
    result = run("greedy", backend, NO_COMMA_LOWER)
    assert [(c.origin, c.text) for c in result.candidates] == [("greedy", "Hello, World")]
    assert [(s, t) for _, s, t in backend.asked] == [(0, 0.0)]
    assert result.chosen == 0 and load_strategy("greedy").name == "greedy"
    with pytest.raises(InputError, match="use greedy, best-of-n"):
        load_strategy("greedy:2")


def test_decrim_refines_the_failed_constraints_until_all_pass():
    backend = Scripted()
    result = run("decrim:3", backend, NO_COMMA_LOWER)
    assert [c.origin for c in result.candidates] == ["answer", "refinement 1"]
    assert result.response == GOOD and result.candidates[1].parent == 0
    refine_request = backend.asked[1][0]
    assert "punctuation:no_comma" in refine_request and "change_case:english_lowercase" in refine_request
    assert result.cost()["calls"] == 2


def test_decrim_with_no_verifier_decomposes_and_judges():
    backend = Scripted()
    result = run("decrim:2", backend, [])
    purposes = [question.split("\n")[0][:20] for question, _, _ in backend.asked]
    assert purposes[0].startswith("List every instruc")
    assert result.candidates[0].strict == 0.0  # the judge says the greedy answer fails both
    assert result.response == GOOD and result.candidates[-1].strict == 1.0


def test_spar_searches_breadth_first_and_stops_at_a_perfect_node():
    backend = Scripted()
    result = run("spar:2x3", backend, NO_COMMA_LOWER)
    assert result.candidates[0].origin == "root"
    depths = [c.origin.split(" ")[1] for c in result.candidates[1:]]
    assert depths == ["1", "1"]  # a perfect child at depth 1 ends the search
    assert result.candidates[result.chosen].strict == 1.0


@pytest.mark.parametrize("strategy,constraints", [("best-of-n:3", NO_COMMA_LOWER), ("decrim:2", NO_COMMA_LOWER),
                                                  ("decrim:2", []), ("spar:2x1", NO_COMMA_LOWER)])  # fmt: skip
def test_candidates_record_why_the_model_stopped(strategy, constraints):
    """Training data leaves out answers cut off at the token limit, so each candidate carries it."""
    backend = Scripted({1: GOOD}, cut_off=frozenset({"Hello, World", "Another, Try"}))
    result = run(strategy, backend, constraints)
    reasons = [(c.text, c.finish_reason) for c in result.candidates]
    assert reasons == [(c.text, "length" if c.text in backend.cut_off else "stop") for c in result.candidates]
    assert {r for _, r in reasons} == {"length", "stop"}
    assert [c.cut_off for c in result.candidates] == [r == "length" for _, r in reasons]


def test_a_strategy_row_says_why_its_chosen_answer_stopped():
    from adhere.bench.generate import generate_rows
    from adhere.bench.run import Rows

    backend = Scripted({0: "Another, Try", 1: GOOD}, cut_off=frozenset({"Another, Try", GOOD}))
    rows = [{"key": 0, "prompt": "Describe the weather."}, {"key": 1, "prompt": "Describe the sea."}]
    sink = Rows()
    asyncio.run(generate_rows(backend, [(rows[0], 0)], GenerationConfig(), None, sink, None,
                              load_strategy("best-of-n:2"), {0: NO_COMMA_LOWER}))  # fmt: skip
    (row,) = list(sink)
    assert row["response"] == GOOD and row["finish_reason"] == "length"
    backend.cut_off = frozenset({"Another, Try"})
    sink = Rows()
    asyncio.run(generate_rows(backend, [(rows[1], 0)], GenerationConfig(), None, sink, None,
                              load_strategy("best-of-n:2"), {1: NO_COMMA_LOWER}))  # fmt: skip
    assert [r["finish_reason"] for r in sink] == ["stop"]


def test_strategy_calls_are_cached_by_content(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    first = run("best-of-n:3", Scripted({0: GOOD}), NO_COMMA_LOWER, cache=cache)
    backend = Scripted({0: "would differ"})
    second = run("best-of-n:3", backend, NO_COMMA_LOWER, cache=cache)
    assert backend.asked == [] and second.response == first.response
    assert second.cost()["uncached_calls"] == 0


def test_a_strategy_rows_progress_counts_only_the_tokens_generated_in_this_run(tmp_path):
    """best-of-n:N+greedy after a plain run finds the greedy answer in the cache: the progress
    rate (tokens per second of the model) counts the samples' tokens, not the cached answer's,
    here and on Ray (whose driver reads them from the row, ``generated_tokens``)."""
    from adhere.bench.generate import generate_rows, generated_tokens
    from adhere.bench.run import Rows

    cache = ResponseCache(tmp_path / "c.sqlite")
    row = {"key": 0, "prompt": "Describe the weather."}
    asyncio.run(generate_rows(Scripted(), [(row, 0)], GenerationConfig(), cache, Rows(), None))  # the plain run
    seen = []
    backend = Scripted({0: GOOD, 1: "a b"})
    sink = Rows()
    asyncio.run(generate_rows(backend, [(row, 0)], GenerationConfig(), cache, sink,
                              lambda tokens, cached: seen.append((tokens, cached)),
                              load_strategy("best-of-n:2+greedy"), {0: NO_COMMA_LOWER}))  # fmt: skip
    assert [t for _, _, t in backend.asked] == [0.7, 0.7]  # the greedy answer came from the cache
    (got,) = list(sink)
    assert got["cost"]["completion_tokens"] == 2 + len(GOOD.split()) + 2  # "Hello, World" + both samples
    assert seen == [(len(GOOD.split()) + 2, False)]
    # The same count where Ray hands the driver its workers' rows.
    assert generated_tokens(got) == len(GOOD.split()) + 2


@pytest.mark.parametrize("spec", ["best-of-n:x", "bon:3", "spar:ax2", "best-of-n:0", "best-of-n:0+greedy"])
def test_bad_strategy_specs(spec):
    with pytest.raises((InputError, ValueError)):
        load_strategy(spec)


def test_eval_with_a_strategy_records_candidates_and_cost(tmp_path):
    rows = read_jsonl(IFEVAL / "input_data_gpt4_20231107_145030.jsonl")[:4]
    prompts = write_jsonl(tmp_path / "p.jsonl", rows)
    server = FaultServer(tmp_path, [{"status": 200}])
    env = {**os.environ, "ADHERE_CACHE_DIR": str(tmp_path / "cache")}
    try:
        out = tmp_path / "run"
        result = subprocess.run(
            [sys.executable, "-m", "adhere.cli", "eval", "ifeval", "--model", "openai:fake", "-M", f"base_url={server.url}",
             "--data", str(prompts), "--out-dir", str(out), "--strategy", "best-of-n:3"],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        responses = read_jsonl(out / "responses.jsonl")
        assert all(r["strategy"] == "best-of-n:3" and len(r["candidates"]) == 3 for r in responses)
        summary = json.loads((out / "summary.json").read_text())
        assert summary["cost"]["calls"] == 12 and summary["cost"]["strategy"] == "best-of-n:3"
        assert "cost (best-of-n:3): 12 model calls" in " ".join(result.stdout.split())
        assert len(server.requests()) == 12
        assert json.loads((out / "config.json").read_text())["strategy"] == "best-of-n:3"
    finally:
        server.kill()


class Queueing(Scripted):
    """A backend that queues every request itself (concurrency None) and decodes two at a time."""

    concurrency = None
    n_parallel = 2

    def __init__(self):
        super().__init__({0: "one, two", 1: "three, four", 2: GOOD})
        self.calls = 0
        self.slots = None

    async def complete(self, messages, config, sample):
        self.slots = self.slots or asyncio.Semaphore(self.n_parallel)  # first come, first served
        async with self.slots:
            await asyncio.sleep(0.001)
            self.calls += 1
            return await super().complete(messages, config, sample)


def test_strategy_rows_finish_steadily_on_a_backend_that_queues_itself():
    """Rows of a best-of-n run are written as prompts finish, not after every prompt's first call."""
    from adhere.bench.generate import generate_rows
    from adhere.bench.run import Rows

    backend = Queueing()
    rows = [{"key": i, "prompt": "Describe the weather."} for i in range(40)]
    calls_when_written = []

    class Sink(Rows):
        def append(self, row):
            calls_when_written.append(backend.calls)
            super().append(row)

    sink = Sink()
    constraints = {row["key"]: NO_COMMA_LOWER for row in rows}
    config = GenerationConfig(temperature=1.0)
    asyncio.run(generate_rows(backend, [(row, 0) for row in rows], config, None, sink, None,
                              load_strategy("best-of-n:3"), constraints))  # fmt: skip
    assert len(sink) == 40 and backend.calls == 120
    assert {row["response"] for row in sink} == {GOOD}
    # The first row comes after a few calls (4 runs in flight x 3 samples), not after all 40 first calls.
    assert calls_when_written[0] <= 12 and calls_when_written == sorted(calls_when_written)
