"""The report of judged runs: pairwise win rates (``adhere eval alpaca-eval``, AlpacaEval
annotation files) and judge checks (``adhere judge-check``), as one offline HTML page.

Pairwise runs: win rate with its 95% interval (1.96 standard errors, as AlpacaEval's standard
error), the length-controlled win rate where it can be had offline (two runs or more on the same
instructions: difficulties fitted on them), wins, losses, draws, and the average lengths of the
model's and the reference's outputs drawn as bars beside the win rate (length is what judges
over-reward). Judge checks: the confusion table of the judge's verdicts against the verifiers',
agreement, precision and recall of "met" with their intervals, the AUROC, and per instruction id.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from adhere.errors import InputError
from adhere.report.html import _CSS, _e, _interval, _pct


def kind_of(path: Path) -> str | None:
    """What a report argument is: "pairwise" (a run with winrate.json, or an annotations file),
    "judge-check" (a folder with judge_check.json), or None (a verifier run)."""
    if path.is_file() and path.name.endswith((".json", ".json.gz")):
        return "pairwise"
    if (path / "winrate.json").is_file():
        return "pairwise"
    if (path / "judge_check.json").is_file():
        return "judge-check"
    return None


def load_pairwise(paths: list[Path]) -> list[dict[str, Any]]:
    """Each pairwise run's metrics, with the LC win rate when two or more share their instructions."""
    from adhere.bench.length_control import fit_difficulty, length_controlled
    from adhere.bench.pairwise import read_annotations, winrate

    runs = []
    for path in paths:
        file = path if path.is_file() else path / "annotations.json"
        rows = read_annotations(file)
        metrics = winrate(rows)
        extra = {}
        if path.is_dir():
            try:
                extra = json.loads((path / "winrate.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                extra = {}
        judged = [r for r in rows if isinstance(r.get("output_1"), str)]
        reference_length = int(sum(len(r["output_1"]) for r in judged) / len(judged)) if judged else None
        runs.append({"name": path.name.removesuffix(".gz").removesuffix(".json") if path.is_file() else path.name,
                     "rows": rows, "judge": extra.get("judge") or ", ".join(sorted({str(r.get("annotator"))
                                                                                   for r in rows})),
                     "reference_length": reference_length, **metrics})  # fmt: skip
    shared = set.intersection(*({r.get("instruction") for r in run["rows"]} for run in runs)) if runs else set()
    if len(runs) >= 2 and all(len(shared) == len(run["rows"]) for run in runs):
        try:
            difficulty = fit_difficulty([run["rows"] for run in runs])
            for run in runs:
                run.update(length_controlled(run["rows"], difficulty))
        except (InputError, ImportError) as error:
            for run in runs:
                run["lc_unavailable"] = str(error)
    for run in runs:
        del run["rows"]
    return runs


def load_checks(paths: list[Path]) -> list[dict[str, Any]]:
    checks = []
    for path in paths:
        try:
            data = json.loads((path / "judge_check.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise InputError(f"{path}/judge_check.json: not readable ({error})") from None
        if not isinstance(data, dict) or "overall" not in data:
            raise InputError(f"{path}/judge_check.json: not a judge check (no 'overall')")
        checks.append({"name": path.name, **data})
    return checks


def _share(share: dict[str, Any]) -> str:
    if share["value"] is None:
        return "–"
    return f'{_pct(share["value"])}<br><span class="ci">{_interval(share["interval"])} · n={share["n"]}</span>'


def _pairwise(runs: list[dict[str, Any]]) -> str:
    if not runs:
        return ""
    lc = any("length_controlled_winrate" in run for run in runs)
    longest = max([run["avg_length"] or 0 for run in runs] + [run["reference_length"] or 0 for run in runs]) or 1
    head = ('<tr><th>model</th><th>judge</th><th class="num">win rate<br><span class="ci">95% CI</span></th>'
            + ('<th class="num">LC win rate<br><span class="ci">± SE</span></th>' if lc else "")
            + '<th class="num">wins / losses / draws</th><th class="num">discrete</th>'
            '<th class="bars">average length (characters): model, reference</th></tr>')  # fmt: skip
    rows = []
    for run in runs:
        low, high = run["win_rate"] - 1.96 * run["standard_error"], run["win_rate"] + 1.96 * run["standard_error"]
        lc_cell = ""
        if lc:
            lc_cell = ('<td class="num">–</td>' if "length_controlled_winrate" not in run else
                       f'<td class="num">{run["length_controlled_winrate"]:.1f}%<br><span class="ci">± '
                       f'{run["lc_standard_error"]:.2f}</span></td>')  # fmt: skip
        bars = "".join(
            f'<div class="bar {kind}" title="{_e(label)}: {value}"><span style="width:{100 * (value or 0) / longest:.1f}%">'
            f"</span></div>"
            for kind, label, value in (("strict", "model", run["avg_length"]), ("loose", "reference", run["reference_length"]))
        )  # fmt: skip
        rows.append(
            f'<tr><td><strong>{_e(run["name"])}</strong><br><span class="muted">{_e(run["model"])} against '
            f'{_e(run["reference"])}</span></td><td>{_e(run["judge"])}</td>'
            f'<td class="num">{run["win_rate"]:.1f}%<br><span class="ci">[{max(low, 0):.1f}, {min(high, 100):.1f}]</span></td>'
            f'{lc_cell}<td class="num">{run["n_wins"]} / {run["n_wins_base"]} / {run["n_draws"]}</td>'
            f'<td class="num">{run["discrete_win_rate"]:.1f}%</td>'
            f'<td class="bars">{bars}<span class="ci">{run["avg_length"]} · {run["reference_length"]}</span></td></tr>'
        )
    note = ("LC: AlpacaEval 2's length-controlled win rate, instruction difficulties fitted on these runs "
            "(length_controlled_noreg); it equals AlpacaEval's own code on the same inputs.") if lc else (
            "LC needs two runs or more on the same instructions (or `adhere winrate --lc` with AlpacaEval's "
            "difficulties).")  # fmt: skip
    return (f'<h2>Judged against a reference</h2><table id="pairwise">{head}{"".join(rows)}</table>'
            f'<p class="muted">Win rate: the mean preference for the model, in percent; interval: ±1.96 standard '
            f"errors. {note}</p>")  # fmt: skip


def _checks(checks: list[dict[str, Any]]) -> str:
    parts = []
    for check in checks:
        o = check["overall"]
        auc = "–" if o["auroc"] is None else f'{o["auroc"]:.3f} (n={o["auroc_n"]})'
        confusion = (
            '<table class="confusion"><tr><th></th><th class="num">verifiers: met</th><th class="num">verifiers: not met</th></tr>'
            f'<tr><th>judge: met</th><td class="num">{o["true_met"]}</td><td class="num">{o["false_met"]}</td></tr>'
            f'<tr><th>judge: not met</th><td class="num">{o["false_not_met"]}</td><td class="num">{o["true_not_met"]}</td></tr>'
            f'<tr><th>no verdict</th><td class="num" colspan="2">{o["no_verdict"]}</td></tr></table>'
        )  # fmt: skip
        per_id = "".join(
            f'<tr><td><code>{_e(name)}</code></td><td class="num">{a["questions"]}</td><td class="num">'
            f'{_share(a["truth_met_rate"])}</td><td class="num">{_share(a["agreement"])}</td><td class="num">'
            f'{_share(a["precision"])}</td><td class="num">{_share(a["recall"])}</td></tr>'
            for name, a in check["by_instruction_id"].items()
        )  # fmt: skip
        parts.append(
            f'<h2>Judge check: {_e(check["judge"])} <span class="muted">({_e(check["name"])})</span></h2>'
            f'<p class="muted">{o["questions"]} requirements of {check.get("prompts", "?")} prompts; '
            f'AUROC of P(YES) against the verifiers: {auc}</p>{confusion}'
            '<table class="judge-check"><tr><th></th><th class="num">agreement</th><th class="num">precision of met</th>'
            f'<th class="num">recall of met</th></tr><tr><td>all</td><td class="num">{_share(o["agreement"])}</td>'
            f'<td class="num">{_share(o["precision"])}</td><td class="num">{_share(o["recall"])}</td></tr></table>'
            '<table class="per-id"><tr><th>instruction id</th><th class="num">asked</th><th class="num">verifiers: met</th>'
            '<th class="num">agreement</th><th class="num">precision</th><th class="num">recall</th></tr>'
            f"{per_id}</table>"
        )  # fmt: skip
    return "".join(parts) + ('<p class="muted">Intervals: 95% Wilson score intervals.</p>' if checks else "")


def render_judged_html(pairwise: list[dict[str, Any]], checks: list[dict[str, Any]]) -> str:
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    count = len(pairwise) + len(checks)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>adhere report: judged runs</title><style>{_CSS}</style></head><body>"
        f'<h1>adhere report: judged runs</h1><p class="muted">{count} run(s) · generated {when}</p>'
        f"{_pairwise(pairwise)}{_checks(checks)}</body></html>\n"
    )
