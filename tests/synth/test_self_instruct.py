"""Self-Instruct task seeds: request building, parsing, every filter, failures, cache and resume."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from adhere.errors import InputError
from adhere.models.base import Completion, ModelCallError
from adhere.models.cache import ResponseCache
from adhere.models.config import GenerationConfig
from adhere.synth.decontaminate import NgramIndex
from adhere.synth.self_instruct import SelfInstructConfig, parse_tasks, self_instruct

SEEDS = [
    "Explain how a refrigerator keeps food cold.",
    "Write a short thank-you note to a neighbour who watered my plants.",
    "Plan a three-day walking trip along a coastline.",
    "Compare renting and buying a home for a young family.",
]
EVAL = "Write a limerick about a penguin who wants to learn how to fly over the ocean."


class Writer:
    """Answers Self-Instruct requests from a script, by request number (no patching)."""

    name = "writer"

    def __init__(self, fail: set[int] = frozenset()):
        self.fail = fail
        self.asked: list[tuple[int, str]] = []

    def identity(self):
        return {"backend": "writer"}

    async def complete(self, messages, config, sample):
        self.asked.append((sample, messages[-1]["content"]))
        if sample in self.fail:
            raise ModelCallError("server said 503")
        replies = {
            0: "1. Explain how a refrigerator keeps food cold and fresh.\n"  # a seed, reworded: similar
               "2. Describe the picture of a sunset I attached.\n"  # not text
               "3. Hi.\n"  # too short
               "4. Suggest five indoor games for a rainy afternoon with children.\n"
               f"5. {EVAL}\n"  # contaminated
               "6. **Summarize the causes of the First World War for a school quiz.**",
            1: "Here you go:\n1) Suggest five indoor games for a rainy afternoon with kids.\n"  # like request 0's
               "2) - starts with punctuation and is otherwise a fine long task\n"
               "3) Draft a polite complaint letter about a delayed train journey.",
        }  # fmt: skip
        text = replies.get(sample, f"1. Describe a new hobby number {sample} and how to begin it cheaply.")
        return Completion(text, "stop", 50, 40, 0.01)

    async def aclose(self):
        pass


def run(backend, config, cache=None, against=None):
    return asyncio.run(self_instruct(backend, cache, SEEDS, config, GenerationConfig(temperature=0.7, seed=0),
                                     against=against))  # fmt: skip


def test_parse_tasks():
    assert parse_tasks("Sure!\n1. Do a.\n2) Do b\n  3: \"Do c\"\nTask 4. *Do d*\nnot numbered") == ["Do a.", "Do b", "Do c", "Do d"]
    assert parse_tasks("1. 8. Bake bread.\n2. 3) 2. Plan a trip.") == ["Bake bread.", "Plan a trip."]


def test_filters_keep_new_text_tasks_and_report_why_others_went():
    config = SelfInstructConfig(count=3, batch=2, examples=3, from_generated=1, minhash=0.5)
    rows, card = run(Writer(), config, against=NgramIndex([("ifeval:1", EVAL)], 8))
    assert [r["task"] for r in rows] == [
        "Suggest five indoor games for a rainy afternoon with children.",
        "Summarize the causes of the First World War for a school quiz.",
        "Draft a polite complaint letter about a delayed train journey.",
    ]
    assert card["dropped"] == {"contaminated": 1, "format": 1, "length": 1, "not_text": 1, "similar": 2}
    assert card["kept"] == 3 and card["requests"] == 2 and card["candidates"] == 9
    assert rows[0]["source"]["request"] == 0 and rows[0]["source"]["rouge_l_max"] < 0.7
    assert "Suggest five indoor games for a rainy afternoon with kids." in card["dropped_examples"]["similar"]


def test_generated_tasks_are_shown_in_later_requests_and_failures_move_on():
    backend = Writer(fail={2})
    config = SelfInstructConfig(count=8, batch=2, examples=3, from_generated=1, rouge=0.95)
    rows, card = run(backend, config)
    assert card["failed_requests"] == 1 and "request 2: server said 503" in card["failures"][0]
    assert len(rows) == 8 and card["requests"] == 6
    later = [text for sample, text in backend.asked if sample >= 2]
    assert any("indoor games" in text or "First World War" in text for text in later)
    # Each request shows 3 numbered tasks and asks for 3 new ones.
    assert all(text.count("\n1. ") == 1 and "Write 3 new tasks" in text for _, text in backend.asked)


def test_seeded_and_resumable_from_the_cache(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    config = SelfInstructConfig(count=4, batch=2, examples=3, rouge=0.95)
    first, _ = run(Writer(), config, cache)
    again = Writer()
    second, _ = run(again, config, cache)
    assert first == second
    assert again.asked == []  # every call came from the cache
    other, _ = run(Writer(), SelfInstructConfig(count=4, batch=2, examples=3, rouge=0.95, seed=1), cache)
    assert [r["task"] for r in other] == [r["task"] for r in first]  # same script, different examples shown


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (SelfInstructConfig(count=0), "--count"),
        (SelfInstructConfig(examples=2, from_generated=3), "--from-generated"),
        (SelfInstructConfig(rouge=0.0), "--rouge"),
        (SelfInstructConfig(batch=0), "--batch"),
    ],
)
def test_bad_config(config, message):
    with pytest.raises(InputError, match=message):
        run(Writer(), config)


def adhere(*args):
    return subprocess.run([sys.executable, "-m", "adhere.cli", *map(str, args)], capture_output=True, text=True, timeout=600)


def test_cli_on_the_bundled_model(tmp_path):
    out = tmp_path / "tasks.jsonl"
    args = ("self-instruct", "--model", "local", "--out", out, "--count", "3", "--batch", "2", "--max-requests", "2",
            "--max-tokens", "96", "--cache", tmp_path / "c.sqlite")  # fmt: skip
    result = adhere(*args)
    assert result.returncode == 0, result.stderr
    card = json.loads((tmp_path / "tasks.card.json").read_text())
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert card["requests"] == 2 and card["kept"] == len(rows) <= 3 and card["candidates"] >= len(rows)
    assert all(r["source"]["generator"] == "self-instruct" and r["source"]["rouge_l_max"] < 0.7 for r in rows)
    again = adhere(*args)  # resumed from the cache: the same file
    assert again.returncode == 0 and [json.loads(line) for line in out.read_text().splitlines()] == rows


def test_cli_bad_seed_file_names_the_line(tmp_path):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text('{"task": "Explain tides."}\nnot json\n')
    result = adhere("self-instruct", "--seeds", seeds, "--out", tmp_path / "x.jsonl")
    assert result.returncode == 2 and f"{seeds}:2" in result.stderr and not (tmp_path / "x.jsonl").exists()
