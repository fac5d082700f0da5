"""Requests judged requirement by requirement (InFoBench's DRFR, RealInstruct, DeCRIM).

Each row is a request with its list of requirements (InFoBench's ``decomposed_questions``,
RealInstruct-style constraints), or without one: then a model (the judge, or a named decomposer)
lists the request's requirements first, as DeCRIM's decomposer does, and the list is kept. The
model answers each request; the judge answers each requirement YES or NO with a reason
(:mod:`adhere.bench.requirements`). The run directory then holds what a verifier benchmark's does:
``verdicts.jsonl`` (per prompt, one verdict per requirement, its reason naming the requirement and
quoting the judge) and
``summary.json``, where the prompt-level accuracy is "every requirement met" and the
instruction-level accuracy is DRFR (the ratio of requirements met), with the same bootstrap
intervals, so ``adhere report`` shows and compares such runs as it does IFEval's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from adhere.errors import InputError
from adhere.models.config import GenerationConfig

REQUIREMENT_ID = "judged:requirement"

#: adhere's decomposition prompt (DeCRIM's idea, adhere's words); ``{request}`` is filled.
DECOMPOSE_PROMPT = """List every requirement that a response to the request below must meet: each \
explicit instruction about content, format, length, style or language, one per line, each a short \
sentence that can be checked on its own. Write only the list, one requirement per line, starting each \
with "- ".

Request:
<<<
{request}
>>>"""

_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+(.*\S)\s*$")


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """Rows of requests: ``prompt`` (or InFoBench's ``instruction`` with its ``input``), optional
    ``key``, and optional ``requirements`` (or ``decomposed_questions``): a list of sentences."""
    from adhere.jsonl import read_jsonl

    rows = []
    for line, row in read_jsonl(path):
        where = f"{path}:{line}"
        if not isinstance(row, dict):
            raise InputError(f"{where}: a row must be a JSON object with a prompt")
        prompt = row.get("prompt")
        if prompt is None and isinstance(row.get("instruction"), str):
            extra = row.get("input")
            prompt = row["instruction"] if not extra else f"{row['instruction']}\n\n{extra}"
        if not isinstance(prompt, str) or not prompt.strip():
            raise InputError(f"{where}: no prompt (give 'prompt', or InFoBench's 'instruction' and 'input')")
        requirements = row.get("requirements", row.get("decomposed_questions"))
        if requirements is not None and (not isinstance(requirements, list) or not requirements or not all(
                isinstance(r, str) and r.strip() for r in requirements)):  # fmt: skip
            raise InputError(f"{where}: 'requirements' must be a non-empty list of sentences (or leave it out to have "
                             "the request decomposed)")  # fmt: skip
        key = row.get("key", row.get("id", len(rows)))
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise InputError(f"{where}: 'key' must be an integer or a string")
        rows.append({"key": key, "prompt": prompt, "requirements": None if requirements is None else
                     [r.strip() for r in requirements]})  # fmt: skip
    if not rows:
        raise InputError(f"{path}: no rows")
    keys = [r["key"] for r in rows]
    if len(set(map(str, keys))) != len(keys):
        raise InputError(f"{path}: two rows share a key; keys must be unique")
    return rows


def read_decomposition(text: str) -> list[str]:
    """The requirements a decomposer listed: its bulleted or numbered lines (any other line of a
    reply that has bullets is left out; a reply without bullets counts each non-empty line)."""
    lines = [line for line in text.splitlines() if line.strip()]
    bulleted = [m.group(1) for m in map(_BULLET.match, lines) if m]
    return bulleted if bulleted else [line.strip() for line in lines]


async def decompose(backend: Any, rows: Sequence[Mapping[str, Any]], cache: Any = None, progress: Any = None,
                    template: str = DECOMPOSE_PROMPT) -> dict[Any, dict[str, Any]]:  # fmt: skip
    """The requirements of each row without a list, by key: {requirements, answer, error}."""
    import asyncio

    from adhere.models.base import ModelCallError
    from adhere.models.cache import cached_complete

    config = GenerationConfig(temperature=0.0, max_tokens=256)
    limit = getattr(backend, "concurrency", None)
    gate = asyncio.Semaphore(limit) if limit else None
    out: dict[Any, dict[str, Any]] = {}

    async def one(row: Mapping[str, Any]) -> None:
        messages = [{"role": "user", "content": template.replace("{request}", row["prompt"], 1)}]
        try:
            record, _ = await cached_complete(backend, cache, messages, config, 0, gate=gate)
        except ModelCallError as error:
            out[row["key"]] = {"requirements": [], "answer": None, "error": str(error)}
        else:
            found = read_decomposition(record["text"])
            out[row["key"]] = {"requirements": found, "answer": record["text"],
                               "error": None if found else "the decomposer listed no requirement"}  # fmt: skip
        if progress:
            progress(False)

    await asyncio.gather(*(one(row) for row in rows if row["requirements"] is None))
    return out


def verdict_rows(rows: Sequence[Mapping[str, Any]], responses: Mapping[Any, str | None],
                 judgments: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:  # fmt: skip
    """``verdicts.jsonl`` rows: per prompt, one verdict per requirement (the judge's met, with its
    answer as the reason); a requirement the judge gave no verdict on, or a prompt without a
    response, is not met, with the reason said."""
    by_key: dict[Any, list[Mapping[str, Any]]] = {}
    for judgment in judgments:
        by_key.setdefault(judgment["key"], []).append(judgment)
    out = []
    for row in rows:
        requirements = row["requirements"] or []
        found = {j["index"]: j for j in by_key.get(row["key"], [])}
        passed, reasons = [], []
        for index, requirement in enumerate(requirements):
            # Each reason names its requirement, so reports show what was asked beside the verdict.
            judgment = found.get(index)
            if responses.get(row["key"]) is None:
                passed.append(False)
                reasons.append(f"{requirement} (no response)")
            elif judgment is None or judgment["met"] is None:
                passed.append(False)
                error = None if judgment is None else judgment.get("error")
                reasons.append(f"{requirement} (the judge gave no verdict: {error or 'not asked'})")
            else:
                passed.append(bool(judgment["met"]))
                reasons.append(f"{requirement} (the judge: {' '.join(str(judgment['answer']).split())[:300]})")
        mode = {"follow_all_instructions": bool(passed) and all(passed), "follow_instruction_list": passed,
                "reasons": reasons}  # fmt: skip
        out.append({"key": row["key"], "instruction_id_list": [REQUIREMENT_ID] * len(requirements),
                    "requirements": requirements, "response_found": responses.get(row["key"]) is not None,
                    "strict": mode, "loose": mode})  # fmt: skip
    return out
