"""Where task seeds and evaluation prompts come from: JSONL files or Hugging Face datasets."""

from __future__ import annotations

from pathlib import Path

from adhere.errors import InputError
from adhere.hub import load_hub_dataset
from adhere.jsonl import read_jsonl

_FIELDS = ("task", "prompt", "instruction")


def load_seeds(source: str) -> list[str]:
    """Task seeds from ``FILE.jsonl`` (a task/prompt/instruction field per row) or ``hf:NAME[:SPLIT[:FIELD]]``."""
    if source.startswith("hf:"):
        return _hub(source)
    path = Path(source)
    seeds = []
    for line, row in read_jsonl(path):
        text = next((row[f] for f in _FIELDS if isinstance(row.get(f), str)), None)
        if text is None or not text.strip():
            raise InputError(f"{path}:{line}: a seed row needs a non-empty 'task', 'prompt' or 'instruction' string")
        seeds.append(text.strip())
    if not seeds:
        raise InputError(f"{path}: no seed rows")
    return list(dict.fromkeys(seeds))


def _hub(source: str) -> list[str]:
    parts = source[3:].split(":")
    name, split, field = parts[0], parts[1] if len(parts) > 1 else "train", parts[2] if len(parts) > 2 else None
    rows = load_hub_dataset(name, split, instead="pass a JSONL file")
    field = field or next((f for f in _FIELDS if f in rows.column_names), None)
    if field is None or field not in rows.column_names:
        raise InputError(f"{name}: no {field or 'task/prompt/instruction'} column; name it: hf:{name}:{split}:FIELD")
    return list(dict.fromkeys(text.strip() for text in rows[field] if isinstance(text, str) and text.strip()))


def eval_prompts(path: str) -> list[tuple[str, str]]:
    """(``file:key``, prompt) pairs of an evaluation file (IFEval/IFBench format, or any rows with 'prompt')."""
    file = Path(path)
    pairs = []
    for line, row in read_jsonl(file):
        prompt = row.get("prompt")
        if not isinstance(prompt, str):
            raise InputError(f"{file}:{line}: an evaluation row needs a 'prompt' string")
        pairs.append((f"{file.name}:{row.get('key', line)}", prompt))
    return pairs
