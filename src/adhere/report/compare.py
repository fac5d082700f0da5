"""The report's numbers, computed once from runs: headline accuracies with intervals, per-id
accuracies, paired comparisons against the first run, and the failures to browse."""

from __future__ import annotations

import json
from typing import Any

from adhere.report.runs import MAX_FAILURES, Run, shared_keys
from adhere.report.stats import METRICS, Outcomes, paired_comparison


def _outcomes(run: Run, pairs: list[tuple[str, int]]) -> Outcomes:
    by_pair = {(json.dumps(r.key), r.sample): r for r in run.results}
    chosen = [by_pair[p] for p in pairs]
    return Outcomes(
        [len(r.instruction_id_list) for r in chosen],
        [sum(r.strict) for r in chosen],
        [sum(r.loose) for r in chosen],
    )


def _failures(run: Run) -> tuple[list[dict[str, Any]], int]:
    failed = [r for r in run.results if not all(r.loose) or not all(r.strict)]
    shown = []
    for r in failed[:MAX_FAILURES]:
        shown.append(
            {
                "key": r.key,
                "sample": r.sample,
                "prompt": r.prompt,
                "response": r.response,
                "error": r.error,
                "response_found": r.response_found,
                "instructions": [
                    {"id": cid, "strict": s, "loose": lo, "strict_reason": sr, "loose_reason": lr}
                    for cid, s, lo, sr, lr in zip(
                        r.instruction_id_list, r.strict, r.loose, r.strict_reasons, r.loose_reasons
                    )
                ],
            }
        )
    return shown, len(failed)


def build_report(runs: list[Run]) -> dict[str, Any]:
    """Everything the HTML page and the terminal show, as plain JSON-ready data."""
    pairs = shared_keys(runs)
    report: dict[str, Any] = {"benchmark": runs[0].benchmark, "metrics": list(METRICS), "runs": [], "comparisons": []}
    for run in runs:
        summary = run.summary
        failures, failed = _failures(run)
        per_id = {
            cid: {
                "n": summary.strict.per_id[cid].total,
                "strict": summary.strict.per_id[cid].accuracy,
                "loose": summary.loose.per_id[cid].accuracy,
            }
            for cid in sorted(summary.strict.per_id)
        }
        report["runs"].append(
            {
                "name": run.name,
                "path": str(run.path),
                "model": run.model,
                "complete": run.complete,
                "status": run.status(),
                "cut_off": run.cut_off,
                "prompts": summary.prompts,
                "instructions": summary.strict.instruction.total,
                "missing_responses": len(summary.missing_responses),
                "accuracy": summary.accuracies(),
                "confidence_intervals": summary.intervals(),
                "per_instruction_id": per_id,
                "failures": failures,
                "failed_prompts": failed,
            }
        )
    if len(runs) > 1:
        base = _outcomes(runs[0], pairs)
        for run in runs[1:]:
            comparison = paired_comparison(base, _outcomes(run, pairs))
            report["comparisons"].append({"a": runs[0].name, "b": run.name, **comparison})
    return report
