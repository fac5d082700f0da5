"""What gets scored: prompts with their constraints and a response, read from JSONL files.

Two row formats are accepted (IFEval's own):

* self-contained rows: ``key``, ``prompt``, ``instruction_id_list``, ``kwargs``, ``response``;
* response rows (``prompt``, ``response``, optionally ``key``) paired with an input file of
  prompts (``key``, ``prompt``, ``instruction_id_list``, ``kwargs``): by key when the response
  rows carry one, else by prompt text (exact, else ignoring surrounding whitespace, as IFBench's
  evaluator does).

Constraints are built (and their kwargs validated) while reading, so a bad row is reported with
its file and line before anything is scored.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from adhere.constraints import Constraint
from adhere.constraints.rows import constraints_of
from adhere.errors import InputError
from adhere.jsonl import count_lines, read_jsonl

Key = int | str


@dataclasses.dataclass(frozen=True, slots=True)
class Item:
    """One prompt to score: its constraints and the response (``None`` if none was given)."""

    key: Key
    prompt: str
    instruction_id_list: tuple[str, ...]
    constraints: tuple[Constraint, ...]
    response: str | None
    error: str | None = None
    """Why there is no response, when a model call failed."""


@dataclasses.dataclass
class Pairing:
    """Bookkeeping of a read: inputs left without a response, responses left without an input,
    and, when invalid rows are skipped (``skip_invalid``), each skipped row's error line."""

    missing_responses: list[Key] = dataclasses.field(default_factory=list)
    unmatched_responses: int = 0
    skip_invalid: bool = False
    rejected: list[str] = dataclasses.field(default_factory=list)

    def reject(self, error: InputError) -> None:
        """Keep going past a row that cannot be scored (``skip_invalid``), else stop on it."""
        if not self.skip_invalid:
            raise error
        self.rejected.append(str(error))


def _where(path: Path, line: int) -> str:
    return f"{path}:{line}"


def _key(row: dict[str, Any], where: str) -> Key:
    key = row.get("key")
    if isinstance(key, bool) or not isinstance(key, (int, str)):
        raise InputError(f"{where}: 'key' must be an integer or a string, got {key!r}")
    return key


def _text(row: dict[str, Any], field: str, where: str, *, hint: str = "") -> str:
    value = row.get(field)
    if not isinstance(value, str):
        got = "nothing" if field not in row else repr(value)[:60]
        raise InputError(f"{where}: '{field}' must be a string, got {got}{hint}")
    return value


def read_inputs(path: str | os.PathLike[str]) -> list[tuple[int, dict[str, Any]]]:
    """An input file of prompts (no responses), with duplicate keys refused."""
    path = Path(path)
    rows = []
    seen: dict[Key, int] = {}
    for line, row in read_jsonl(path):
        where = _where(path, line)
        key = _key(row, where)
        if key in seen:
            raise InputError(f"{where}: duplicate key {key!r} (first on line {seen[key]})")
        seen[key] = line
        _text(row, "prompt", where)
        rows.append((line, row))
    if not rows:
        raise InputError(f"{path}: no rows")
    return rows


def is_self_contained(row: dict[str, Any]) -> bool:
    return "instruction_id_list" in row and "response" in row


def iter_items(
    responses: str | os.PathLike[str],
    inputs: str | os.PathLike[str] | None = None,
    pairing: Pairing | None = None,
) -> Iterator[Item]:
    """Items to score, in input order (or response order for self-contained rows)."""
    pairing = pairing if pairing is not None else Pairing()
    if inputs is None:
        yield from _self_contained(Path(responses), pairing)
    else:
        yield from _paired(Path(responses), Path(inputs), pairing)


def expected_count(
    responses: str | os.PathLike[str], inputs: str | os.PathLike[str] | None
) -> int | None:
    """Roughly how many items ``iter_items`` will yield (for a progress bar); ``None`` if unknown.

    An unreadable file is not an error here: reading it for real reports that properly.
    """
    try:
        return count_lines(inputs if inputs is not None else responses)
    except OSError:
        return None


def _self_contained(path: Path, pairing: Pairing) -> Iterator[Item]:
    yield from self_contained_items(((_where(path, line), row) for line, row in read_jsonl(path)), pairing)


def self_contained_items(rows: Iterable[tuple[str, Any]], pairing: Pairing | None = None) -> Iterator[Item]:
    """Items of self-contained rows given as ``(where, row)``, validated as a file's rows are
    (``where`` names the row in errors: ``file:line``, or ``row N`` for rows in memory). A row
    that cannot be scored stops the read, unless ``pairing.skip_invalid``."""
    pairing = pairing if pairing is not None else Pairing()
    seen: set[Key] = set()
    for where, row in rows:
        if not isinstance(row, Mapping):
            raise InputError(f"{where}: expected a row (a dict), got {type(row).__name__}")
        if not is_self_contained(row):
            raise InputError(
                f"{where}: row has no 'instruction_id_list'/'response'; pass --inputs "
                "INPUT.jsonl to pair responses with their prompts"
            )
        try:
            key = _key(row, where)
            if key in seen:
                raise InputError(f"{where}: duplicate key {key!r}")
            ids, constraints = constraints_of(row, where)
            response = _text(row, "response", where)
        except InputError as error:
            pairing.reject(error)
            continue
        seen.add(key)
        prompt = row.get("prompt") if isinstance(row.get("prompt"), str) else ""
        yield Item(key, prompt, ids, constraints, response)


def _paired(responses: Path, inputs: Path, pairing: Pairing) -> Iterator[Item]:
    input_rows = read_inputs(inputs)
    by_key: dict[Key, str] = {}
    by_prompt: dict[str, str] = {}
    first_seen: dict[Key | str, int] = {}
    keyed = None
    errors: dict[Key | str, str] = {}
    for line, row in read_jsonl(responses):
        where = _where(responses, line)
        if row.get("response") is None and isinstance(row.get("error"), str):
            response = None  # a failed model call recorded by `adhere eval`
        else:
            response = _text(row, "response", where)
        has_key = "key" in row
        if keyed is None:
            keyed = has_key
        elif keyed != has_key:
            raise InputError(
                f"{where}: some response rows have a 'key' and some do not; use one or the other"
            )
        if keyed:
            ident: Key | str = _key(row, where)
            table: dict[Any, str] = by_key
        else:
            ident = _text(row, "prompt", where)
            table = by_prompt
        if ident in first_seen:
            what = "key" if keyed else "prompt"
            raise InputError(
                f"{where}: duplicate {what} {str(ident)[:60]!r} (first on line {first_seen[ident]})"
            )
        first_seen[ident] = line
        if response is None:
            errors[ident] = row["error"]
        else:
            table[ident] = response
    # A prompt that differs only by surrounding whitespace still finds its response, as in
    # IFBench's evaluator (its data has prompts with trailing spaces that models' outputs lost).
    by_stripped: dict[str, str] = {}
    if not keyed:
        for prompt in first_seen:
            by_stripped.setdefault(str(prompt).strip(), str(prompt))
    matched: set[Key | str] = set()
    for line, row in input_rows:
        where = _where(inputs, line)
        key = row["key"]
        try:
            ids, constraints = constraints_of(row, where)
        except InputError as error:  # a prompt whose instructions cannot be checked
            pairing.reject(error)
            continue
        ident = key if keyed else row["prompt"]
        if not keyed and ident not in first_seen:
            ident = by_stripped.get(ident.strip(), ident)
        response = (by_key if keyed else by_prompt).get(ident)
        if response is None:
            pairing.missing_responses.append(key)
        if ident in first_seen:
            matched.add(ident)
        yield Item(key, row["prompt"], ids, constraints, response, errors.get(ident))
    pairing.unmatched_responses = len(first_seen) - len(matched)
