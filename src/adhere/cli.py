"""The ``adhere`` command: parse arguments, call the library, render. Nothing else lives here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from adhere import __version__
from adhere.errors import AdhereError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adhere", description="Measure and improve how well language models follow instructions."
    )
    parser.add_argument("--version", action="version", version=f"adhere {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    score = commands.add_parser(
        "score",
        help="score responses against verifiable instructions (strict and loose)",
        description=(
            "Score a JSONL file of responses. Rows are self-contained (key, prompt, "
            "instruction_id_list, kwargs, response) or IFEval response rows (prompt, response) "
            "paired with --inputs by key, else by exact prompt text."
        ),
    )
    score.add_argument("responses", help="JSONL file of responses")
    score.add_argument("--inputs", help="JSONL file of prompts with instruction_id_list and kwargs")
    score.add_argument("--benchmark", default="ifeval", choices=["ifeval"], help="default: ifeval")
    score.add_argument("--out", help="folder for verdicts.jsonl and summary.json")
    score.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes to score in (default: 1 for small files, one per CPU core for large ones)",
    )
    score.add_argument("--quiet", action="store_true", help="print no table, only warnings")

    listing = commands.add_parser("constraints", help="list the registered constraints and their kwargs")
    listing.add_argument("--benchmark", default=None, help="only this benchmark's constraints")
    return parser


def _score(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from adhere.bench.scoring import expected_count, score
    from adhere.report.terminal import print_summary

    out, err = Console(), Console(stderr=True)
    total = expected_count(args.responses, args.inputs)
    columns = (TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=args.quiet) as bar:
        task = bar.add_task("score", total=total)
        summary = score(
            args.responses,
            args.inputs,
            benchmark=args.benchmark,
            out=args.out,
            workers=args.workers,
            progress=lambda n: bar.advance(task, n),
        )
    if args.quiet:
        for warning in summary.warnings():
            err.print(f"[yellow]warning:[/yellow] {warning}")
    else:
        print_summary(summary, out)
    if args.out:
        err.print(f"wrote {args.out}/verdicts.jsonl and {args.out}/summary.json")
    return 0


def _constraints(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from adhere.constraints import get, ids

    table = Table("id", "kwargs", "checks")
    for cid in ids(args.benchmark):
        cls = get(cid)
        kwargs = ", ".join(f"{k}: {t}" for k, t in cls.schema().items()) or "-"
        table.add_row(cid, kwargs, (cls.__doc__ or "").strip().splitlines()[0])
    Console().print(table)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers = {"score": _score, "constraints": _constraints}
    try:
        return handlers[args.command](args)
    except AdhereError as error:
        print(f"adhere: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("adhere: interrupted; no output was written", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
