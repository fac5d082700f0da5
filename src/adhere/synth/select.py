"""Data selection (InstructMining style): indicators per example, a linear rule, the top fraction.

Indicators of each example (prompt, response):

* ``length``: words in the response;
* ``mtld``: the response's lexical diversity (``adhere.text.diversity``);
* ``perplexity``: the response's perplexity given the prompt under a reference GGUF model
  (computed only when a model is given; lower reads as more natural to that model);
* ``verifier``: the fraction of the prompt's constraints the response follows (strict), from the
  row's provenance (``make-sft``/``make-pairs`` rows) or by scoring IFEval-style rows.

A rule is a linear combination, e.g. ``verifier + 0.5*mtld - 0.5*perplexity``. By default each
indicator is standardized over the input (z-score) before weighting, so weights compare across
indicators; ``raw=True`` weights the values themselves (as InstructMining's fitted rule does).
Rows are ranked by the rule (ties: the earlier row) and the top fraction is kept, in input order.

Before ranking, near-duplicate prompts can be removed with MinHash LSH (``datasketch``): rows are
visited best first, so of each group of near-duplicates the best-ranked one stays.

Rows may be TRL conversational SFT (``messages``), DPO pairs (``prompt``/``chosen``/
``rejected``; the chosen response is judged), or ``prompt`` with ``response``/``completion``,
each as text or as chat messages.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from adhere.errors import InputError
from adhere.settings import setting

INDICATORS = ("length", "mtld", "perplexity", "verifier")
DEFAULT_RULE = "verifier + 0.5*mtld - 0.5*perplexity"
DEFAULT_RULE_NO_MODEL = "verifier + 0.5*mtld"


@dataclasses.dataclass(frozen=True)
class SelectSettings:
    """How ``adhere select`` ranks rows and how many it keeps (its flags are these fields)."""

    rule: str | None = setting(None, f"linear rule over {', '.join(INDICATORS)} (default: '{DEFAULT_RULE}' with "
                               f"--perplexity-model, else '{DEFAULT_RULE_NO_MODEL}')")  # fmt: skip
    keep: float = setting(0.5, "fraction of rows to keep after deduplication")
    raw: bool = setting(False, "weight raw indicator values (default: z-scores)")
    dedup: float | None = setting(None, "remove near-duplicate prompts at this MinHash Jaccard similarity, e.g. 0.8")
    perplexity_model: str | None = setting(None, "reference model for perplexity: local or gguf:PATH")

    def effective_rule(self) -> str:
        return self.rule or (DEFAULT_RULE if self.perplexity_model else DEFAULT_RULE_NO_MODEL)

    def check(self) -> None:
        """Refuse settings that cannot select anything, before any row is read."""
        if not 0.0 < self.keep <= 1.0:
            raise InputError(f"--keep must be a fraction in (0, 1], got {self.keep}")
        if self.dedup is not None and not 0.0 < self.dedup <= 1.0:
            raise InputError(f"--dedup must be a Jaccard similarity in (0, 1], got {self.dedup}")
        if "perplexity" in parse_rule(self.effective_rule()) and not self.perplexity_model:
            raise InputError("the rule uses perplexity: pass --perplexity-model local (or gguf:PATH)")


@dataclasses.dataclass
class Example:
    line: int
    prompt: str
    response: str
    verifier: float | None


def _text(value: Any, role: str) -> str | None:
    """A string, or the content of the last ``role`` message of a chat list."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        for message in reversed(value):
            if isinstance(message, dict) and message.get("role") == role and isinstance(message.get("content"), str):
                return message["content"]
    return None


def _verifier(row: dict[str, Any], response: str, where: str) -> float | None:
    provenance = row.get("provenance") if isinstance(row.get("provenance"), dict) else {}
    for holder in (provenance.get("chosen"), provenance):
        if isinstance(holder, dict) and isinstance(holder.get("strict"), (int, float)):
            return float(holder["strict"])
    if "instruction_id_list" in row:
        from adhere.constraints.rows import constraints_of
        from adhere.improve.base import score

        _, constraints = constraints_of(row, where)
        return score(response, constraints, "row").strict
    return None


def example(row: Any, line: int, where: str) -> Example:
    """The (prompt, response) of one data row; a row of no known shape is an error naming it."""
    if not isinstance(row, dict):
        raise InputError(f"{where}:{line}: a row must be a JSON object")
    if "messages" in row:
        messages = row["messages"]
        ok = isinstance(messages, list) and messages and isinstance(messages[-1], dict)
        response = messages[-1].get("content") if ok and messages[-1].get("role") == "assistant" else None
        prompt = _text(messages[:-1], "user") if ok else None
    elif "prompt" in row:
        prompt = _text(row["prompt"], "user")
        field = next((f for f in ("chosen", "response", "completion") if f in row), None)
        response = _text(row[field], "assistant") if field else None
    else:
        prompt = response = None
    if not isinstance(prompt, str) or not isinstance(response, str):
        raise InputError(
            f"{where}:{line}: expected 'messages' ending with an assistant turn, or 'prompt' with "
            "'chosen', 'response' or 'completion' (text or chat messages)"
        )
    return Example(line, prompt, response, _verifier(row, response, f"{where}:{line}"))


_TERM = re.compile(r"\s*([+-])?\s*(?:(\d+(?:\.\d*)?(?:e[+-]?\d+)?)\s*\*\s*)?([a-z_]+)(?:\s*\*\s*(\d+(?:\.\d*)?(?:e[+-]?\d+)?))?\s*")


def parse_rule(rule: str) -> dict[str, float]:
    """``"verifier + 0.5*mtld - 2*perplexity"`` to ``{"verifier": 1.0, "mtld": 0.5, "perplexity": -2.0}``."""
    weights: dict[str, float] = {}
    position = 0
    text = rule.strip().lower()
    while position < len(text):
        match = _TERM.match(text, position)
        if not match or match.end() == position or (position and not match.group(1)):
            raise InputError(
                f"cannot read the rule {rule!r} at {text[position:][:20]!r}; write terms like "
                f"'verifier + 0.5*mtld - 0.2*perplexity' over {', '.join(INDICATORS)}"
            )
        sign, before, name, after = match.groups()
        if name not in INDICATORS:
            raise InputError(f"unknown indicator {name!r} in the rule; known: {', '.join(INDICATORS)}")
        weight = float(before or 1.0) * float(after or 1.0) * (-1.0 if sign == "-" else 1.0)
        weights[name] = weights.get(name, 0.0) + weight
        position = match.end()
    if not weights:
        raise InputError("the selection rule is empty; e.g. 'verifier + 0.5*mtld'")
    return weights


def indicators(
    examples: Sequence[Example], needed: Sequence[str], perplexity: Callable[[str, str], float] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[dict[str, float | None]]:  # fmt: skip
    """The indicators of every example (``perplexity`` only with a scorer, and only if needed)."""
    from adhere.text.diversity import mtld, words

    out = []
    for item in examples:
        values: dict[str, float | None] = {
            "length": float(len(words(item.response))),
            "mtld": round(mtld(item.response), 4),
            "verifier": item.verifier,
        }
        if perplexity is not None and "perplexity" in needed:
            value = perplexity(item.prompt, item.response)
            values["perplexity"] = None if math.isnan(value) else round(value, 4)
        out.append(values)
        if progress:
            progress(1)
    return out


def scores(values: Sequence[dict[str, float | None]], weights: dict[str, float], *, raw: bool,
           where: str, lines: Sequence[int]) -> list[float]:  # fmt: skip
    """The rule's value for every row; an indicator the rule needs but a row lacks is an error."""
    columns: dict[str, list[float]] = {}
    for name in weights:
        column = []
        for line, row in zip(lines, values):
            value = row.get(name)
            if value is None:
                why = {"verifier": "no verifier score (no provenance strict score and no instruction_id_list)",
                       "perplexity": "no perplexity (pass a reference model, or an empty response)"}  # fmt: skip
                raise InputError(f"{where}:{line}: the rule uses {name} but this row has {why.get(name, 'none')}")
            column.append(float(value))
        if not raw:
            mean = sum(column) / len(column)
            spread = math.sqrt(sum((v - mean) ** 2 for v in column) / len(column))
            column = [(v - mean) / spread if spread > 0 else 0.0 for v in column]
        columns[name] = column
    return [sum(weights[name] * columns[name][i] for name in weights) for i in range(len(values))]


def select(
    rows: Sequence[dict[str, Any]],
    examples: Sequence[Example],
    values: Sequence[dict[str, float | None]],
    *,
    rule: str,
    keep: float,
    raw: bool = False,
    dedup_threshold: float | None = None,
    where: str = "data",
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(kept rows with their ``selection`` field, card)."""
    if not 0.0 < keep <= 1.0:
        raise InputError(f"--keep must be a fraction in (0, 1], got {keep}")
    weights = parse_rule(rule)
    lines = [e.line for e in examples]
    rank_values = scores(values, weights, raw=raw, where=where, lines=lines)
    order = sorted(range(len(rows)), key=lambda i: (-rank_values[i], i))
    duplicates: dict[int, int] = {}
    if dedup_threshold is not None:
        from adhere.synth.similarity import near_duplicates

        duplicates = near_duplicates([e.prompt for e in examples], threshold=dedup_threshold, order=order)
    remaining = [i for i in order if i not in duplicates]
    count = math.ceil(keep * len(remaining)) if remaining else 0
    chosen = sorted(remaining[:count])
    kept = [{**rows[i], "selection": {"score": round(rank_values[i], 6), "indicators": values[i]}} for i in chosen]

    def summary(indices: Sequence[int]) -> dict[str, Any]:
        out: dict[str, Any] = {"rows": len(indices)}
        for name in INDICATORS:
            column = [values[i][name] for i in indices if values[i].get(name) is not None]
            if column:
                out[name] = {"mean": round(sum(column) / len(column), 4), "min": min(column), "max": max(column)}
        return out

    card = {
        "kind": "selected data",
        "rule": rule,
        "weights": weights,
        "standardized": not raw,
        "keep": keep,
        "input_rows": len(rows),
        "near_duplicates": {
            "threshold": dedup_threshold,
            "removed": len(duplicates),
            "removed_lines": [{"line": lines[i], "duplicate_of_line": lines[j]} for i, j in sorted(duplicates.items())],
        },
        "kept_rows": len(kept),
        "input": summary(range(len(rows))),
        "kept": summary(chosen),
    }
    return kept, card
