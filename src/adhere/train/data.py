"""Training rows, checked before any model is loaded: a bad row is an error naming its line.

* SFT: TRL conversational ``{"messages": [...]}`` ending with an assistant turn (what ``adhere
  make-sft`` writes), or ``{"prompt": [...], "completion": [...]}``. Rows are given to TRL as
  prompt-completion pairs, so the loss is on the answer only.
* DPO: ``{"prompt": [...], "chosen": [...], "rejected": [...]}`` (what ``adhere make-pairs``
  writes), each side chat messages or text.
* GRPO: prompts with their verifiable instructions, IFEval's format (``prompt``,
  ``instruction_id_list``, ``kwargs``: what ``adhere synth`` writes); the answers are sampled.

Other fields (provenance, selection) are left out of what the trainer sees.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adhere.errors import InputError
from adhere.jsonl import read_jsonl

ROLES = ("system", "user", "assistant")


def _messages(value: Any, where: str, field: str, *, last: str | None = None) -> list[dict[str, str]]:
    if isinstance(value, str):
        value = [{"role": last or "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise InputError(f"{where}: '{field}' must be a non-empty list of chat messages or a string")
    out = []
    for number, message in enumerate(value):
        if (not isinstance(message, dict) or message.get("role") not in ROLES
                or not isinstance(message.get("content"), str)):  # fmt: skip
            raise InputError(f"{where}: '{field}' message {number} needs a role ({', '.join(ROLES)}) and a string content")
        out.append({"role": message["role"], "content": message["content"]})
    if last is not None and out[-1]["role"] != last:
        raise InputError(f"{where}: '{field}' must end with a {last} message, not {out[-1]['role']}")
    return out


def sft_row(row: dict[str, Any], where: str) -> dict[str, Any]:
    if "messages" in row:
        messages = _messages(row["messages"], where, "messages", last="assistant")
        if len(messages) < 2 or not any(m["role"] == "user" for m in messages[:-1]):
            raise InputError(f"{where}: 'messages' needs a user turn before the final assistant turn")
        return {"prompt": messages[:-1], "completion": messages[-1:]}
    if "prompt" in row and "completion" in row:
        return {"prompt": _messages(row["prompt"], where, "prompt", last="user"),
                "completion": _messages(row["completion"], where, "completion", last="assistant")}  # fmt: skip
    raise InputError(f"{where}: an SFT row needs 'messages' (chat ending with the assistant) or 'prompt' and 'completion'")


def dpo_row(row: dict[str, Any], where: str) -> dict[str, Any]:
    missing = [f for f in ("prompt", "chosen", "rejected") if f not in row]
    if missing:
        raise InputError(f"{where}: a preference row needs 'prompt', 'chosen' and 'rejected'; missing {', '.join(missing)}")
    out = {
        "prompt": _messages(row["prompt"], where, "prompt", last="user"),
        "chosen": _messages(row["chosen"], where, "chosen", last="assistant"),
        "rejected": _messages(row["rejected"], where, "rejected", last="assistant"),
    }
    if out["chosen"] == out["rejected"]:
        raise InputError(f"{where}: 'chosen' and 'rejected' are the same answer")
    return out


def grpo_row(row: dict[str, Any], where: str) -> dict[str, Any]:
    """A prompt with its verifiable instructions (IFEval's format, what ``adhere synth`` writes)."""
    from adhere.constraints.rows import constraints_of

    if "prompt" not in row:
        raise InputError(f"{where}: a GRPO row needs 'prompt' and its 'instruction_id_list' and 'kwargs' "
                         "(IFEval's format, as adhere synth writes)")  # fmt: skip
    ids, constraints = constraints_of(row, where)
    if not constraints:
        raise InputError(f"{where}: no instructions to reward (an empty 'instruction_id_list')")
    return {"prompt": _messages(row["prompt"], where, "prompt", last="user"), "instruction_id_list": list(ids),
            "kwargs": [c.kwargs() for c in constraints]}  # fmt: skip


def load_rows(path: str | Path, kind: str) -> list[dict[str, Any]]:
    """The rows of a training file for ``kind`` "sft", "dpo" or "grpo", checked."""
    convert = {"sft": sft_row, "dpo": dpo_row, "grpo": grpo_row}[kind]
    rows = []
    for line, row in read_jsonl(path):
        rows.append(convert(row, f"{path}:{line}"))
    if not rows:
        raise InputError(f"{path}: no training rows")
    return rows
