"""Rich rendering of a ``Summary``: the four accuracies and a per-instruction-id table."""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table

from adhere.report.summary import Summary, Tally


def _pct(tally: Tally) -> str:
    return "-" if tally.accuracy is None else f"{100 * tally.accuracy:.1f}"


def summary_renderable(summary: Summary) -> Group:
    head = Table(title=f"{summary.benchmark}: {summary.prompts} prompts", title_justify="left")
    head.add_column("level")
    head.add_column("strict %", justify="right")
    head.add_column("loose %", justify="right")
    head.add_column("n", justify="right")
    head.add_row("prompt", _pct(summary.strict.prompt), _pct(summary.loose.prompt), str(summary.strict.prompt.total))
    head.add_row(
        "instruction",
        _pct(summary.strict.instruction),
        _pct(summary.loose.instruction),
        str(summary.strict.instruction.total),
    )
    per_id = Table(title="per instruction id", title_justify="left")
    per_id.add_column("instruction id")
    per_id.add_column("strict %", justify="right")
    per_id.add_column("loose %", justify="right")
    per_id.add_column("n", justify="right")
    for cid in sorted(summary.strict.per_id):
        strict, loose = summary.strict.per_id[cid], summary.loose.per_id[cid]
        per_id.add_row(cid, _pct(strict), _pct(loose), str(strict.total))
    return Group(head, per_id)


def print_summary(summary: Summary, console: Console | None = None) -> None:
    console = console or Console()
    console.print(summary_renderable(summary))
    for warning in summary.warnings():
        console.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)
