"""Rich rendering of a ``Summary``: the four accuracies and a per-instruction-id table."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console, Group
from rich.table import Table

from adhere.bench.summary import Summary, Tally


def _pct(tally: Tally) -> str:
    return "-" if tally.accuracy is None else f"{100 * tally.accuracy:.1f}"


def _ci(pair: list[float] | None) -> str:
    return "" if not pair else f"[{100 * pair[0]:.1f}, {100 * pair[1]:.1f}]"


def summary_renderable(summary: Summary) -> Group:
    head = Table(title=f"{summary.benchmark}: {summary.prompts} prompts", title_justify="left")
    head.add_column("level")
    head.add_column("strict %", justify="right")
    head.add_column("95% CI", justify="right", style="dim")
    head.add_column("loose %", justify="right")
    head.add_column("95% CI", justify="right", style="dim")
    head.add_column("n", justify="right")
    ci = summary.intervals()
    for level, strict, loose, total in (
        ("prompt", summary.strict.prompt, summary.loose.prompt, summary.strict.prompt.total),
        ("instruction", summary.strict.instruction, summary.loose.instruction, summary.strict.instruction.total),
    ):
        head.add_row(
            level, _pct(strict), _ci(ci.get(f"{level}_level_strict")),
            _pct(loose), _ci(ci.get(f"{level}_level_loose")), str(total),
        )  # fmt: skip
    per_id = Table(title="per instruction id", title_justify="left")
    per_id.add_column("instruction id")
    per_id.add_column("strict %", justify="right")
    per_id.add_column("loose %", justify="right")
    per_id.add_column("n", justify="right")
    for cid in sorted(summary.strict.per_id):
        strict, loose = summary.strict.per_id[cid], summary.loose.per_id[cid]
        per_id.add_row(cid, _pct(strict), _pct(loose), str(strict.total))
    parts: list[Any] = [head, per_id]
    cost = summary.extra.get("cost")
    if cost:
        strategy = cost.get("strategy") or "one call per prompt"
        parts.append(
            f"cost ({strategy}): {cost['calls']} model calls, {cost['prompt_tokens']} prompt + "
            f"{cost['completion_tokens']} completion tokens; {cost['generation_seconds_this_run']:.0f} s generating in this run"
        )
    return Group(*parts)


def print_summary(summary: Summary, console: Console | None = None) -> None:
    console = console or Console()
    console.print(summary_renderable(summary))
    for warning in summary.warnings():
        console.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)


_SHORT = {
    "prompt_level_strict": "prompt strict",
    "instruction_level_strict": "inst strict",
    "prompt_level_loose": "prompt loose",
    "instruction_level_loose": "inst loose",
}


def print_report(report: dict[str, Any], console: Console | None = None) -> None:
    """The report's headline table and its comparisons, for the terminal."""
    console = console or Console()
    # Each accuracy over its interval, so the table fits 80 columns and no run name is squeezed out.
    table = Table(title=f"{report['benchmark']}: {len(report['runs'])} run(s), % [95% CI]", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False)  # fmt: skip
    longest = max(len(run["name"]) for run in report["runs"])
    table.add_column("run", min_width=min(longest, 12), overflow="fold")
    table.add_column("n", justify="right", no_wrap=True)
    for metric in report["metrics"]:
        table.add_column(_SHORT[metric].replace(" ", "\n"), justify="right", no_wrap=True)
    for run in report["runs"]:
        cells = [
            f"{100 * run['accuracy'][m]:.1f}\n{_ci(run['confidence_intervals'].get(m))}"
            if run["accuracy"][m] is not None else "-"
            for m in report["metrics"]
        ]  # fmt: skip
        table.add_row(run["name"], str(run["prompts"]), *cells)
    console.print(table)
    for run in report["runs"]:
        if run.get("failed_calls"):
            console.print(f"[red]failed:[/red] {run['name']} is {run['status']}", soft_wrap=True)
        elif not run["complete"] or run.get("cut_off"):
            console.print(f"[yellow]warning:[/yellow] {run['name']} is {run['status']}", soft_wrap=True)
    for comp in report["comparisons"]:
        diff = Table(title=f"{comp['b']} - {comp['a']} on {comp['prompts']} shared prompts", title_justify="left")
        for name in ("metric", "difference (pts)", "95% CI", "p bootstrap", "p McNemar"):
            diff.add_column(name, justify="left" if name == "metric" else "right")
        for metric in report["metrics"]:
            m = comp["metrics"].get(metric)
            if not m or m["delta"] is None:
                continue
            interval = m["interval"]
            mcnemar = m.get("mcnemar")
            diff.add_row(
                _SHORT[metric],
                f"{100 * m['delta']:+.1f}",
                "" if not interval else f"[{100 * interval[0]:+.1f}, {100 * interval[1]:+.1f}]",
                f"{m.get('p_bootstrap', float('nan')):.3f}",
                "" if mcnemar is None else f"{mcnemar['p']:.3f}",
            )
        console.print(diff)
        if comp.get("per_id"):
            from adhere.report.compare import comparison_moves, moves_text

            moves = comparison_moves(report["benchmark"], comp)
            console.print(f"per instruction id ({moves['strictness']}): {moves_text(moves)}", soft_wrap=True,
                          highlight=False)  # fmt: skip
        for note in comp.get("notes", []):
            console.print(f"[yellow]note:[/yellow] {comp['b']} vs {comp['a']}: {note}", soft_wrap=True)


def print_multiturn(block: dict[str, Any], console: Console | None = None) -> None:
    """Per-turn PIF and PIF-N-K of a multi-turn run."""
    console = console or Console()
    samples = block["samples"]
    table = Table(
        title=f"multiturn: {block['conversations']} conversations, {block['turns']} turns, {samples} rollout(s) "
        "each (PIF-N-K: strict)",
        title_justify="left",
    )
    table.add_column("turn", justify="right")
    table.add_column("active", justify="right")
    table.add_column("PIF strict", justify="right")
    table.add_column("PIF loose", justify="right")
    ks = list(block["pif_n_k_strict"])
    for name in ks:
        table.add_column(name, justify="right")
    for turn in range(block["turns"]):
        cells = [f"{block['pif_n_k_strict'][name][turn]:.3f}" for name in ks]
        strict, loose = block["pif_strict"][turn], block["pif_loose"][turn]
        table.add_row(str(turn + 1), str(turn + 1), f"{strict:.3f}", f"{loose:.3f}", *cells)
    console.print(table)
    for mode in ("strict", "loose"):
        interval = block.get(f"final_pif_{mode}_interval")
        if interval:
            console.print(
                f"last turn mean PIF ({mode}): {block[f'pif_{mode}'][-1]:.3f}, 95% CI [{interval[0]:.3f}, {interval[1]:.3f}]",
                soft_wrap=True,
            )
