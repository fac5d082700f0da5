"""Logging a scored run to Weights & Biases (``--wandb PROJECT``; the ``wandb`` extra).

One W&B run per adhere run: its config is the run's ``config.json`` (model, sampling, data), its
summary the accuracies with their 95% intervals, the counts and the cost, and a table of the
per-instruction-id accuracies. The run directory stays the record; W&B gets a copy of its numbers.
W&B's own settings apply (``WANDB_ENTITY``, ``WANDB_MODE=offline`` to write the run locally and
``wandb sync`` it later). A logging failure comes after the run is scored and written: it is one
line saying so, and exit 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adhere.errors import AdhereError, InputError


class LoggingFailedError(AdhereError):
    """The run is scored and written, but logging it to W&B failed. Exit code 1."""

    exit_code = 1


def summary_fields(summary: dict[str, Any]) -> dict[str, Any]:
    """The flat W&B summary of a ``summary.json``: accuracies, their interval ends, counts, cost."""
    out: dict[str, Any] = {"benchmark": summary.get("benchmark"), "prompts": summary.get("prompts"),
                           "instructions": summary.get("instructions")}  # fmt: skip
    for metric, value in (summary.get("accuracy") or {}).items():
        out[metric] = value
        interval = (summary.get("confidence_intervals") or {}).get(metric)
        if interval:
            out[f"{metric}_low"], out[f"{metric}_high"] = interval
    for key, value in (summary.get("cost") or {}).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[f"cost/{key}"] = value
    return out


def per_id_rows(summary: dict[str, Any]) -> list[list[Any]]:
    strict = (summary.get("strict") or {}).get("per_instruction_id") or {}
    loose = (summary.get("loose") or {}).get("per_instruction_id") or {}
    return [[name, s.get("accuracy"), (loose.get(name) or {}).get("accuracy"), s.get("total")]
            for name, s in sorted(strict.items())]  # fmt: skip


def check(project: str) -> None:
    """Before any work: the project is a name (or ENTITY/PROJECT) and wandb is installed."""
    parts = project.split("/")
    if len(parts) > 2 or not all(part.strip() for part in parts):
        raise InputError(f"--wandb takes a W&B project name (or ENTITY/PROJECT), got {project!r}")
    try:
        import wandb  # noqa: F401
    except ImportError:
        raise InputError("--wandb needs the wandb package: pip install 'adhere[wandb]'") from None


def log_run(out: str | Path, project: str, summary: dict[str, Any] | None = None) -> str:
    """Log the scored run in ``out`` to the W&B ``project``; returns the W&B run's id."""
    check(project)
    import wandb

    out = Path(out)
    if summary is None:
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    config_path = out / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    entity, _, name = project.rpartition("/")
    try:
        run = wandb.init(project=name, entity=entity or None, name=out.name, dir=str(out), job_type="adhere",
                         config={"adhere": config, "run_dir": str(out.resolve())}, reinit="finish_previous")  # fmt: skip
        run.summary.update(summary_fields(summary))
        run.log({"per_instruction_id": wandb.Table(columns=["instruction_id", "strict", "loose", "total"],
                                                   data=per_id_rows(summary))})  # fmt: skip
        ident = run.id
        run.finish()
    except Exception as error:  # noqa: BLE001 - no login, no network, a refused project: one line
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise LoggingFailedError(f"the run is scored and written to {out}/, but logging it to W&B failed: {reason} "
                                 "(wandb login, or WANDB_MODE=offline to write it locally)") from None  # fmt: skip
    return ident
