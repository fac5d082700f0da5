"""The report of a recipe run (``adhere loop``): ``loop.json`` is the data; the terminal table and
the HTML page are both drawn from :func:`headline_rows` and :func:`made_rows`, so they cannot
disagree."""

from __future__ import annotations

from typing import Any

from adhere.jsonl import atomic_write, write_json
from adhere.report.compare import comparison_moves, headline, moves_text

_SHORT = {"prompt_level_strict": "prompt strict", "prompt_level_loose": "prompt loose"}


def build_loop_summary(run: Any) -> dict[str, Any]:
    """What ``loop.json`` holds for a recipe run (``adhere.recipe.RecipeRun``): each benchmark's
    evaluations against the baseline, what each stage made and how long it took. Writes
    ``report-<benchmark>.html`` beside it."""
    from adhere.report.compare import build_report
    from adhere.report.html import render_html
    from adhere.report.runs import load_run

    recipe = run.recipe
    summary: dict[str, Any] = {
        "recipe": {"name": recipe.name, "source": recipe.source, "description": recipe.description,
                   "params": recipe.params, "baseline": recipe.baseline},
        "model": run.ws.model, "benchmarks": {}, "stages": {},
    }  # fmt: skip
    for benchmark, runs in run.evaluation_runs().items():
        loaded = []
        for name, path in runs:
            result = load_run(path)
            result.name = name
            loaded.append(result)
        report = build_report(loaded)
        with atomic_write(run.out / f"report-{benchmark}.html") as handle:
            handle.write(render_html(report))
        summary["benchmarks"][benchmark] = {
            "headline": headline(benchmark),
            "runs": [{key: r[key] for key in ("name", "prompts", "accuracy", "confidence_intervals", "cut_off")}
                     for r in report["runs"]],
            "comparisons": report["comparisons"],
        }  # fmt: skip
    for name, stage, state in run.results():
        summary["stages"][name] = {"kind": stage.kind, "does": stage.describe(), "result": state["result"],
                                   "seconds": state.get("seconds")}  # fmt: skip
    summary["seconds"] = run.stage_seconds()
    summary["total_seconds"] = round(sum(summary["seconds"].values()), 1)
    return summary


def write_loop_report(run: Any) -> dict[str, Any]:
    from adhere.report.html import render_loop_html

    summary = build_loop_summary(run)
    write_json(run.out / "loop.json", summary)
    with atomic_write(run.out / "report.html") as handle:
        handle.write(render_loop_html(summary))
    return summary


def headline_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per evaluated model: its name and, per benchmark, the headline accuracy with its
    interval and (after the baseline) the paired change with its interval and p-values."""
    benchmarks = summary["benchmarks"]
    names: list[str] = []
    for data in benchmarks.values():
        names += [r["name"] for r in data["runs"] if r["name"] not in names]
    rows = []
    for name in names:
        cells = {}
        for benchmark, data in benchmarks.items():
            metric = data["headline"]
            index = next((i for i, r in enumerate(data["runs"]) if r["name"] == name), None)
            if index is None:
                continue
            run = data["runs"][index]
            cell: dict[str, Any] = {"metric": metric, "label": f"{benchmark} {_SHORT.get(metric, metric)}",
                                    "accuracy": run["accuracy"][metric], "prompts": run["prompts"],
                                    "interval": run["confidence_intervals"].get(metric), "change": None}  # fmt: skip
            if index:
                entry = data["comparisons"][index - 1]["metrics"][metric]
                cell["change"] = {"delta": entry["delta"], "interval": entry.get("interval"),
                                  "p_bootstrap": entry.get("p_bootstrap"),
                                  "p_mcnemar": (entry.get("mcnemar") or {}).get("p")}  # fmt: skip
            cells[benchmark] = cell
        rows.append({"name": name, "cells": cells})
    return rows


def headline_text(row: dict[str, Any]) -> str:
    """A row of :func:`headline_rows` as one line of text."""
    parts = []
    for cell in row["cells"].values():
        text = f"{cell['label']} {100 * cell['accuracy']:.1f}%"
        change = cell["change"]
        if change:
            text += f" ({100 * change['delta']:+.1f} pts"
            if change["interval"]:
                low, high = change["interval"]
                text += f", 95% CI [{100 * low:+.1f}, {100 * high:+.1f}]"
            text += ")"
        parts.append(text)
    return f"{row['name']}: " + "; ".join(parts)


def change_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Where each change comes from: per benchmark and model compared with the baseline, every
    instruction id's followed count before and after in the benchmark's headline strictness
    (:func:`adhere.report.compare.comparison_moves`) and the answers cut off at the token limit."""
    rows = []
    for benchmark, data in summary["benchmarks"].items():
        runs = {r["name"]: r for r in data["runs"]}
        for comp in data["comparisons"]:
            if "per_id" not in comp:  # a summary written before per-id changes were kept
                continue
            rows.append({**comparison_moves(benchmark, comp),
                         "cut_off": {name: (runs[name].get("cut_off"), runs[name]["prompts"]) for name in (comp["a"], comp["b"])}})  # fmt: skip
    return rows


def change_text(row: dict[str, Any]) -> str:
    """A row of :func:`change_rows` as one line: the largest gains and losses, the collapses, the
    cut-off answers."""
    parts = [moves_text(row)]
    cut = [f"{name} {count} of {prompts}" for name, (count, prompts) in row["cut_off"].items() if count is not None]
    if cut:
        parts.append("cut off at the token limit: " + ", ".join(cut))
    return f"  {row['b']} vs {row['a']}, {row['benchmark']} per instruction id ({row['strictness']}): " + "; ".join(parts)


def made_rows(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(stage, kind, what it made) for every finished stage."""
    out = []
    for name, entry in summary["stages"].items():
        out.append((name, entry["kind"], _made(entry["kind"], entry["result"])))
    return out


def _share(count: Any, total: Any) -> str:
    return f"{count} of {total}" if isinstance(count, int) and isinstance(total, int) else "–"


def _made(kind: str, result: dict[str, Any]) -> str:
    if kind == "synth":
        return f"{result['prompts']} prompts ({result['dropped_by_decontamination']} dropped by decontamination)"
    if kind == "answer":
        accuracy = result["accuracy"].get("prompt_level_strict", 0.0)
        return f"{result['prompts']} prompts answered, {100 * accuracy:.1f}% prompt strict"
    if kind in ("make-sft", "make-pairs"):
        rate = result.get("candidate_pass_rate")
        parts = [f"{result['rows']} rows"]
        if result.get("repaired"):
            parts.append(f"{result['repaired']} repaired")
        if rate is not None:
            parts.append(f"{100 * rate:.1f}% of candidates passing")
        if result.get("cut_off_candidates") is not None:
            parts.append(f"cut off {_share(result.get('cut_off_candidates'), result.get('candidates'))}")
        contamination = result.get("contamination") or {}
        parts.append(f"{contamination.get('overlapping', '–')} of {contamination.get('rows_checked', '–')} "
                     "rows overlap an evaluation prompt")  # fmt: skip
        return ", ".join(parts)
    if kind == "mix":
        return f"{result['rows']} rows (" + ", ".join(f"{k}: {v}" for k, v in result["from"].items()) + ")"
    if kind == "train":
        resumed = f", resumed at step {result['resumed_from_step']}" if result.get("resumed_from_step") else ""
        from adhere.train.trainer import rows_not_fitting

        left_out, cut = rows_not_fitting(result)
        fit = (f", {left_out} left out (prompt longer than max_length)" if left_out else "") + (
            f", {cut} cut at max_length" if cut else "")  # fmt: skip
        return f"{result['steps']} steps on {result['rows']} rows, loss {result['train_loss']:.3f}{resumed}{fit}"
    if kind == "average":
        what = f"one adapter of rank {result['rank']}" if result.get("adapter") else "one fully trained model"
        return f"{result['models']} models averaged into {what}"
    if kind == "export":
        return f"{result.get('type', 'GGUF')} {result['bytes'] / 2**20:.0f} MiB, {result['tensors_changed']} trained tensors"
    if kind == "evaluate":
        return "; ".join(f"{name} {_SHORT[headline(name)]} {100 * run['accuracy'][headline(name)]:.1f}% "
                         f"of {run['prompts']}" for name, run in result.items())  # fmt: skip
    return ""
