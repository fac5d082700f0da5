"""The data card written beside every data file adhere makes: what is in it and how it was made."""

from __future__ import annotations

import collections
import os
from pathlib import Path
from typing import Any

from adhere.jsonl import write_json


def card_path(data: str | os.PathLike[str]) -> Path:
    """``prompts.jsonl`` -> ``prompts.card.json``."""
    data = Path(data)
    stem = data.name[: -len(".jsonl")] if data.name.endswith(".jsonl") else data.name
    return data.with_name(f"{stem}.card.json")


def coverage(rows: list[dict[str, Any]]) -> dict[str, Any]:
    per_id = collections.Counter(cid for row in rows for cid in row["instruction_id_list"])
    per_prompt = collections.Counter(len(row["instruction_id_list"]) for row in rows)
    return {
        "rows": len(rows),
        "per_instruction_id": dict(sorted(per_id.items())),
        "constraints_per_prompt": {str(k): per_prompt[k] for k in sorted(per_prompt)},
    }


def write_card(data: str | os.PathLike[str], card: dict[str, Any]) -> Path:
    path = card_path(data)
    write_json(path, card)
    return path
