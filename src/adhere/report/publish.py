"""A run as a Hugging Face dataset: its per-prompt results as JSON lines with a dataset card,
written to a folder (``datasets.load_dataset(FOLDER)`` reads it) and pushed to the Hub.

The Hub calls are ``huggingface_hub``'s (``create_repo``, ``upload_folder``); the token is read
from an environment variable (``HF_TOKEN`` by default) and written nowhere. With
``HF_HUB_OFFLINE=1`` nothing goes out and the push fails with one line saying so.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from adhere.errors import AdhereError, InputError, MissingExtraError, first_line
from adhere.jsonl import atomic_write, json_line, write_json

DATA_FILE = "data/results.jsonl"


class PushError(AdhereError):
    """The Hub refused or could not be reached. Exit code 1."""


def _row(result: Any) -> dict[str, Any]:
    return {
        "key": result.key, "sample": result.sample, "prompt": result.prompt, "response": result.response,
        "error": result.error, "instruction_id_list": result.instruction_id_list,
        "follow_all_strict": all(result.strict), "follow_list_strict": result.strict,
        "reasons_strict": result.strict_reasons,
        "follow_all_loose": all(result.loose), "follow_list_loose": result.loose,
        "reasons_loose": result.loose_reasons,
    }  # fmt: skip


def _card(run: Any, title: str) -> str:
    accuracy = run.summary.accuracies()
    intervals = run.summary.intervals()
    lines = ["---", "configs:", "- config_name: default", "  data_files:", "  - split: results",
             f"    path: {DATA_FILE}", "tags:", "- adhere", "- instruction-following", f"- {run.benchmark}",
             "---", "", f"# {title}", "",
             (f"{run.benchmark} results of `{run.model or 'responses scored by adhere'}`, verified by adhere with "
              "the reference implementation's checks: one row per prompt (and sample), with the response and each "
              "instruction's strict and loose verdict and reason."),
             "", f"Status: {run.status()}.", "", "| accuracy | value | 95% CI |", "|---|---:|---|"]  # fmt: skip
    for name, value in accuracy.items():
        low_high = intervals.get(name) if isinstance(intervals, dict) else None
        shown = "n/a" if value is None else f"{100 * value:.1f}%"
        ci = f"[{100 * low_high[0]:.1f}, {100 * low_high[1]:.1f}]" if isinstance(low_high, (list, tuple)) else ""
        lines.append(f"| {name.replace('_', ' ')} | {shown} | {ci} |")
    lines += ["", ("`config.json` (how the answers were made, when the run made them) and `summary.json` (the "
                   "scores, intervals and warnings) are beside the data.")]  # fmt: skip
    return "\n".join(lines) + "\n"


def write_dataset(run_path: str | Path, folder: str | Path, title: str | None = None) -> dict[str, Any]:
    """The run as a dataset folder: ``data/results.jsonl``, ``README.md`` (a card the Hub reads),
    ``summary.json`` and, for an ``adhere eval`` run, ``config.json``."""
    from adhere.report.runs import load_run

    run = load_run(run_path)
    folder = Path(folder)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    with atomic_write(folder / DATA_FILE) as handle:
        for result in run.results:
            handle.write(json_line(_row(result)))
    write_json(folder / "summary.json", run.summary.to_dict())
    if run.config:
        write_json(folder / "config.json", run.config)
    with atomic_write(folder / "README.md") as handle:
        handle.write(_card(run, title or f"{run.name}: {run.benchmark} results"))
    return {"rows": len(run.results), "folder": str(folder)}


def push(run_path: str | Path, repo: str, *, private: bool = False, token_env: str = "HF_TOKEN",
         folder: str | Path | None = None) -> str:  # fmt: skip
    """Write the run as a dataset (into ``folder``, else a temporary one) and upload it to the
    Hub dataset ``repo`` (``user/name``; made if missing). Returns the dataset's URL."""
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise InputError(f"--repo must be USER/NAME (a Hub dataset), got {repo!r}")
    try:
        from huggingface_hub import HfApi
    except ImportError:
        raise MissingExtraError("pushing to the Hub needs huggingface_hub: pip install 'adhere[hub]'") from None
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(folder) if folder is not None else Path(scratch)
        write_dataset(run_path, target, title=repo)
        api = HfApi(token=os.environ.get(token_env) or None)
        try:
            api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True)
            api.upload_folder(folder_path=str(target), repo_id=repo, repo_type="dataset",
                              commit_message=f"adhere push {Path(run_path).name}")  # fmt: skip
        except Exception as error:  # noqa: BLE001 (offline, refused, unreachable: all one line)
            hint = f"; set ${token_env} to a token with write access" if not os.environ.get(token_env) else ""
            raise PushError(f"cannot push {run_path} to the Hub dataset {repo}: {first_line(error)[:200]}{hint}") from None
    return f"https://huggingface.co/datasets/{repo}"
