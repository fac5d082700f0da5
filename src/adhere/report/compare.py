"""The report's numbers, computed once from runs: headline accuracies with intervals, per-id
accuracies, paired comparisons against the first run, and the failures to browse."""

from __future__ import annotations

import json
import re
from typing import Any

from adhere.bench.stats import METRICS, Outcomes, paired_comparison
from adhere.report.runs import MAX_FAILURES, PromptResult, Run, shared_keys


def _chosen(run: Run, pairs: list[tuple[str, int]]) -> list[PromptResult]:
    """The run's results for these (key, sample) pairs, in their order."""
    by_pair = {(json.dumps(r.key), r.sample): r for r in run.results}
    return [by_pair[p] for p in pairs]


def _outcomes(chosen: list[PromptResult]) -> Outcomes:
    return Outcomes(
        [len(r.instruction_id_list) for r in chosen],
        [sum(r.strict) for r in chosen],
        [sum(r.loose) for r in chosen],
    )


def per_id_changes(a: list[PromptResult], b: list[PromptResult]) -> list[dict[str, Any]]:
    """Per instruction id, over the same prompts (:func:`_chosen` of two runs): how many of its n
    instructions each run followed (strict and loose), largest strict change first: where a change
    comes from."""
    counts: dict[str, dict[str, Any]] = {}
    for side, chosen in (("a", a), ("b", b)):
        for r in chosen:
            for cid, strict, loose in zip(r.instruction_id_list, r.strict, r.loose):
                entry = counts.setdefault(cid, {"id": cid, "n": 0, **dict.fromkeys(("a_strict", "b_strict", "a_loose", "b_loose"), 0)})
                entry["n"] += side == "a"
                entry[f"{side}_strict"] += bool(strict)
                entry[f"{side}_loose"] += bool(loose)
    return sorted(counts.values(), key=lambda e: (-(e["b_strict"] - e["a_strict"]), e["id"]))


#: The accuracy each benchmark's headline is stated in (IFEval strict, IFBench loose); a probe
#: set (prompts a recipe synthesized) is read as IFEval is.
HEADLINE = {"ifeval": "prompt_level_strict", "ifbench": "prompt_level_loose"}


def headline(benchmark: str) -> str:
    return HEADLINE.get(benchmark, "prompt_level_strict")


def strictness(benchmark: str) -> str:
    """strict or loose: the verdicts a benchmark's headline counts."""
    return "loose" if headline(benchmark) == "prompt_level_loose" else "strict"


#: A model that follows an instruction id more than this many times fewer than the baseline, on
#: the same prompts, is named as a collapse of that id.
COLLAPSE = 5


def id_moves(per_id: list[dict[str, Any]], side: str = "strict") -> dict[str, Any]:
    """A comparison's per-id counts (:func:`per_id_changes`) in one strictness: every id's followed
    count before (a) and after (b), largest gain first; the same per family (the id's part before
    the colon); and the ids that fell by more than :data:`COLLAPSE`."""
    moves = [{"id": e["id"], "n": e["n"], "a": e[f"a_{side}"], "b": e[f"b_{side}"]} for e in per_id]
    moves = [{**m, "delta": m["b"] - m["a"]} for m in moves]
    moves.sort(key=lambda m: (-m["delta"], m["id"]))
    families: dict[str, dict[str, Any]] = {}
    for m in moves:
        name = m["id"].split(":")[0]
        family = families.setdefault(name, {"id": name, "n": 0, "a": 0, "b": 0})
        for key in ("n", "a", "b"):
            family[key] += m[key]
    rollup = sorted(({**f, "delta": f["b"] - f["a"]} for f in families.values()), key=lambda f: (-f["delta"], f["id"]))
    return {"moves": moves, "families": rollup, "fell": [m for m in moves if m["delta"] < -COLLAPSE]}


def comparison_moves(benchmark: str, comp: dict[str, Any]) -> dict[str, Any]:
    """A comparison of a report (``per_id`` kept) as :func:`id_moves` in the benchmark's headline
    strictness, with who is compared on what."""
    side = strictness(benchmark)
    return {"a": comp["a"], "b": comp["b"], "benchmark": benchmark, "strictness": side, **id_moves(comp["per_id"], side)}


def _move(m: dict[str, Any]) -> str:
    return f"{m['id']} {m['a']}→{m['b']} of {m['n']}"


def moves_text(moves: dict[str, Any], top: int = 3) -> str:
    """:func:`id_moves` in one line: the largest gains and losses and every collapse."""
    up = [_move(m) for m in moves["moves"] if m["delta"] > 0][:top]
    down = [_move(m) for m in reversed(moves["moves"]) if m["delta"] < 0][:top]
    fell = ", ".join(_move(m) for m in moves["fell"]) or "none"
    return f"up {', '.join(up) or 'none'}; down {', '.join(down) or 'none'}; fell by more than {COLLAPSE}: {fell}"


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


def _runtime_difference(key: str, a: Any, b: Any) -> str:
    """One field of two runtimes that differ; for llama.cpp's system info ("AVX2 = 1 | AVX512 = 1
    | ..."), only the flags that differ, a missing one as 0."""
    if key == "system_info" and isinstance(a, str) and isinstance(b, str):
        flags_a, flags_b = (dict(re.findall(r"(\w+) = (\w+)", v)) for v in (a, b))
        names = sorted(n for n in set(flags_a) | set(flags_b) if flags_a.get(n, "0") != flags_b.get(n, "0"))
        if flags_a and flags_b and names:
            side_a, side_b = (" ".join(f"{n}={flags.get(n, '0')}" for n in names) for flags in (flags_a, flags_b))
            return f"{key}: {side_a} vs {side_b}"
    return f"{key}: {a!r} vs {b!r}"


def comparability(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """What, besides the model, differs between two runs' configs and can move their scores: the
    sampling settings, the runtime that computed the answers (the same weights give different
    greedy answers on another llama.cpp build or CPU), answers from more than one runtime."""
    notes = []
    gen_a, gen_b = a.get("generation") or {}, b.get("generation") or {}
    changed = [f"{key} {gen_a.get(key)!r} vs {gen_b.get(key)!r}" for key in sorted(set(gen_a) | set(gen_b))
               if gen_a.get(key) != gen_b.get(key)]  # fmt: skip
    if gen_a and gen_b and changed:
        notes.append(f"generation settings differ: {', '.join(changed)}")
    run_a, run_b = a.get("runtime"), b.get("runtime")
    if run_a and run_b and run_a != run_b:
        keys = [key for key in sorted(set(run_a) | set(run_b)) if run_a.get(key) != run_b.get(key)]
        notes.append(
            "made on different runtimes, and the same weights can give other greedy answers on another: "
            + " / ".join(_runtime_difference(key, run_a.get(key), run_b.get(key)) for key in keys)
        )
    for name, config in (("the first run", a), ("this run", b)):
        if config.get("earlier_runtimes"):
            notes.append(f"{name} was resumed on another runtime: its answers come from more than one")
    return notes


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
                "health": run.health(),
                "failed_calls": run.errors,
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
        first = _chosen(runs[0], pairs)
        base = _outcomes(first)
        for run in runs[1:]:
            chosen = _chosen(run, pairs)
            comparison = paired_comparison(base, _outcomes(chosen))
            notes = comparability(runs[0].config, run.config)
            report["comparisons"].append({"a": runs[0].name, "b": run.name, **comparison, "notes": notes,
                                          "per_id": per_id_changes(first, chosen)})  # fmt: skip
    return report
