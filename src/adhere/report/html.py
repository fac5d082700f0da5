"""One self-contained HTML page from the report data: no CDN, no network, works offline.

The page is rendered here (tables, bars, the list of failures), so it reads without JavaScript;
a few lines of inline script filter the failures by run, instruction id, mode and text. Filters
can be set in the address (``report.html#id=format:title_case&mode=loose&q=json``) to share a view.
"""

from __future__ import annotations

import datetime
import html
from typing import Any

_NAMES = {
    "prompt_level_strict": "prompt strict",
    "instruction_level_strict": "instruction strict",
    "prompt_level_loose": "prompt loose",
    "instruction_level_loose": "instruction loose",
}

_CSS = """
:root { --fg:#1d2430; --muted:#5f6b7a; --line:#dde3ea; --bg:#ffffff; --soft:#f5f7fa;
        --strict:#2f6fde; --loose:#9dbcf2; --bad:#c2410c; --good:#15803d; --warn:#a16207; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       background: var(--bg); margin: 0 auto; max-width: 1180px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 10px; }
.muted { color: var(--muted); } code { font-size: 12.5px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; background: var(--soft); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ci { color: var(--muted); font-size: 12px; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 9px; font-size: 12px; }
.badge.ok { background: #e7f6ec; color: var(--good); } .badge.warn { background: #fdf3d7; color: var(--warn); }
.badge.bad { background: #fdeae3; color: var(--bad); }
.sig { color: var(--good); font-weight: 600; } .worse { color: var(--bad); font-weight: 600; }
.note { color: var(--warn); margin: 4px 0 10px; }
.bars { min-width: 180px; }
.bar { position: relative; height: 9px; background: var(--soft); border-radius: 3px; margin: 2px 0; }
.bar > span { position: absolute; left: 0; top: 0; bottom: 0; border-radius: 3px; }
.bar.strict > span { background: var(--strict); } .bar.loose > span { background: var(--loose); }
.legend span { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 4px 0 12px; }
.filters { display: flex; gap: 10px; flex-wrap: wrap; align-items: center; padding: 10px;
           background: var(--soft); border: 1px solid var(--line); border-radius: 6px; }
.filters input { min-width: 220px; } .filters select, .filters input { font: inherit; padding: 3px 6px; }
details.failure { border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; padding: 6px 10px; }
details.failure > summary { cursor: pointer; }
details.failure pre { white-space: pre-wrap; word-break: break-word; background: var(--soft);
                      padding: 8px; border-radius: 4px; max-height: 320px; overflow: auto; margin: 6px 0; }
ul.reasons { margin: 6px 0; padding-left: 20px; } ul.reasons li.failed { color: var(--bad); }
.hidden { display: none; }
"""

_SCRIPT = """
(function () {
  const controls = { run: document.getElementById('f-run'), id: document.getElementById('f-id'),
                     mode: document.getElementById('f-mode'), q: document.getElementById('f-q') };
  const items = Array.from(document.querySelectorAll('details.failure'));
  const count = document.getElementById('f-count');
  function apply() {
    const run = controls.run.value, id = controls.id.value, mode = controls.mode.value;
    const q = controls.q.value.trim().toLowerCase();
    let shown = 0;
    for (const item of items) {
      const failed = (item.dataset[mode] || '').split(' ').filter(Boolean);
      const ok = failed.length > 0 && (!run || item.dataset.run === run) && (!id || failed.includes(id))
                 && (!q || item.textContent.toLowerCase().includes(q));
      item.classList.toggle('hidden', !ok);
      if (ok) shown += 1;
    }
    count.textContent = shown + ' shown';
    const params = new URLSearchParams();
    for (const [name, el] of Object.entries(controls)) if (el.value && !(name === 'mode' && el.value === 'strict')) params.set(name, el.value);
    const hash = params.toString();
    if (('#' + hash) !== location.hash && !(hash === '' && location.hash === '')) history.replaceState(null, '', hash ? '#' + hash : location.pathname);
  }
  const initial = new URLSearchParams(location.hash.slice(1));
  for (const [name, el] of Object.entries(controls)) if (initial.has(name)) el.value = initial.get(name);
  for (const el of Object.values(controls)) el.addEventListener('input', apply);
  apply();
})();
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _interval(pair: list[float] | None, *, points: bool = False) -> str:
    if not pair:
        return ""
    if points:
        return f"[{100 * pair[0]:+.1f}, {100 * pair[1]:+.1f}]"
    return f"[{100 * pair[0]:.1f}, {100 * pair[1]:.1f}]"


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _runs_table(report: dict[str, Any]) -> str:
    head = "".join(f'<th class="num">{_NAMES[m]}<br><span class="ci">95% CI</span></th>' for m in report["metrics"])
    rows = []
    for run in report["runs"]:
        badge = {"ok": "ok", "failed": "bad"}.get(run["health"], "warn")
        cells = "".join(
            f'<td class="num">{_pct(run["accuracy"][m])}<br><span class="ci">'
            f'{_interval(run["confidence_intervals"].get(m))}</span></td>'
            for m in report["metrics"]
        )
        rows.append(
            f'<tr><td><strong>{_e(run["name"])}</strong><br><span class="muted">{_e(run["model"] or "")}</span></td>'
            f'<td><span class="badge {badge}">{_e(run["status"])}</span></td>'
            f'<td class="num">{run["prompts"]}</td>{cells}</tr>'
        )
    return (
        f'<table id="headline"><tr><th>run</th><th>status</th><th class="num">prompts</th>{head}</tr>'
        + "".join(rows) + "</table>"
        + '<p class="muted">Intervals: percentile bootstrap over prompts (1,000 resamples, seed 0); '
        "a prompt's instructions are resampled together.</p>"
    )


def _comparisons(report: dict[str, Any]) -> str:
    if not report["comparisons"]:
        return ""
    parts = ["<h2>Differences from the first run</h2>"]
    for comp in report["comparisons"]:
        rows = []
        for metric in report["metrics"]:
            m = comp["metrics"].get(metric)
            if m is None:
                continue
            p_boot = m.get("p_bootstrap")
            mcnemar = m.get("mcnemar")
            significant = p_boot is not None and p_boot < 0.05
            delta = m["delta"]
            css = "" if not significant or delta is None else ("sig" if delta > 0 else "worse")
            delta_text = "–" if delta is None else f"{100 * delta:+.1f} pts"
            mc = "–" if mcnemar is None else f'{_p(mcnemar["p"])} <span class="ci">({mcnemar["only_a"]} vs {mcnemar["only_b"]})</span>'
            rows.append(
                f"<tr><td>{_NAMES[metric]}</td><td class=\"num\">{_pct(m['a'])}</td><td class=\"num\">{_pct(m['b'])}</td>"
                f'<td class="num {css}">{delta_text}</td><td class="num">{_interval(m["interval"], points=True)}</td>'
                f'<td class="num">{_p(p_boot)}</td><td class="num">{mc}</td></tr>'
            )
        parts.append(
            f"<h3>{_e(comp['b'])} vs {_e(comp['a'])} <span class=\"muted\">on the {comp['prompts']} prompts both have</span></h3>"
            '<table class="comparison"><tr><th>metric</th><th class="num">'
            f"{_e(comp['a'])}</th><th class=\"num\">{_e(comp['b'])}</th><th class=\"num\">difference</th>"
            '<th class="num">95% CI</th><th class="num">p (paired bootstrap)</th>'
            '<th class="num">p (McNemar)</th></tr>' + "".join(rows) + "</table>"
            + "".join(f'<p class="note">Note: {_e(note)}</p>' for note in comp.get("notes", []))
            + _comparison_per_id(report["benchmark"], comp)
        )
    parts.append(
        '<p class="muted">Bold: p &lt; 0.05 by the paired bootstrap (green: better than the first run, '
        "red: worse). McNemar: exact test on the prompts only one of the two runs passes (in brackets: "
        "passed only by the first run vs only by the second).</p>"
    )
    return "".join(parts)


def _comparison_per_id(benchmark: str, comp: dict[str, Any]) -> str:
    from adhere.report.compare import comparison_moves

    if not comp.get("per_id"):
        return ""
    return _changes_section({**comparison_moves(benchmark, comp), "cut_off": {}}, heading=False)


def _per_id(report: dict[str, Any]) -> str:
    ids = sorted({cid for run in report["runs"] for cid in run["per_instruction_id"]})
    head = "".join(f"<th>{_e(run['name'])}</th>" for run in report["runs"])
    rows = []
    for cid in ids:
        cells = []
        for run in report["runs"]:
            entry = run["per_instruction_id"].get(cid)
            if entry is None:
                cells.append("<td></td>")
                continue
            strict, loose = entry["strict"] or 0.0, entry["loose"] or 0.0
            cells.append(
                f'<td class="bars" title="strict {_pct(entry["strict"])}, loose {_pct(entry["loose"])}, n={entry["n"]}">'
                f'<div class="bar strict"><span style="width:{100 * strict:.1f}%"></span></div>'
                f'<div class="bar loose"><span style="width:{100 * loose:.1f}%"></span></div>'
                f'<span class="ci">{_pct(entry["strict"])} / {_pct(entry["loose"])} · n={entry["n"]}</span></td>'
            )
        rows.append(f"<tr><td><code>{_e(cid)}</code></td>{''.join(cells)}</tr>")
    return (
        '<h2>Accuracy per instruction id</h2><p class="legend muted">'
        '<span style="background:var(--strict)"></span>strict<span style="background:var(--loose)"></span>loose</p>'
        f'<table id="per-id"><tr><th>instruction id</th>{head}</tr>' + "".join(rows) + "</table>"
    )


def _failures(report: dict[str, Any]) -> str:
    ids = sorted({cid for run in report["runs"] for cid in run["per_instruction_id"]})
    run_options = "".join(f'<option value="{_e(run["name"])}">{_e(run["name"])}</option>' for run in report["runs"])
    id_options = "".join(f'<option value="{_e(cid)}">{_e(cid)}</option>' for cid in ids)
    items, notes = [], []
    for run in report["runs"]:
        if run["failed_prompts"] > len(run["failures"]):
            notes.append(f"{_e(run['name'])}: the first {len(run['failures'])} of {run['failed_prompts']} failed prompts are listed")
        for f in run["failures"]:
            failed_strict = " ".join(i["id"] for i in f["instructions"] if not i["strict"])
            failed_loose = " ".join(i["id"] for i in f["instructions"] if not i["loose"])
            reasons = "".join(
                f'<li class="{"failed" if not i["strict"] else ""}"><code>{_e(i["id"])}</code>: '
                f'strict {"followed" if i["strict"] else "not followed"} ({_e(i["strict_reason"])}); '
                f'loose {"followed" if i["loose"] else "not followed"} ({_e(i["loose_reason"])})</li>'
                for i in f["instructions"]
            )
            if f["error"]:
                response = f'<p class="muted">no response: model error: {_e(f["error"])}</p>'
            elif not f["response_found"]:
                response = '<p class="muted">no response</p>'
            elif f["response"] is None:
                response = '<p class="muted">response text not in this folder</p>'
            else:
                response = f"<pre>{_e(f['response'])}</pre>"
            prompt = "" if f["prompt"] is None else f"<div><strong>Prompt</strong><pre>{_e(f['prompt'])}</pre></div>"
            sample = f" sample {f['sample']}" if f["sample"] else ""
            items.append(
                f'<details class="failure" data-run="{_e(run["name"])}" data-strict="{_e(failed_strict)}" '
                f'data-loose="{_e(failed_loose)}"><summary><strong>{_e(run["name"])}</strong> · key '
                f'{_e(f["key"])}{sample} · failed (strict): {_e(failed_strict or "none")}</summary>'
                f'{prompt}<div><strong>Response</strong>{response}</div><ul class="reasons">{reasons}</ul></details>'
            )
    note = "".join(f'<p class="muted">{n}</p>' for n in notes)
    return (
        '<h2>Failures</h2><div class="filters">'
        f'<label>run <select id="f-run"><option value="">all</option>{run_options}</select></label>'
        f'<label>instruction <select id="f-id"><option value="">all</option>{id_options}</select></label>'
        '<label>mode <select id="f-mode"><option value="strict">strict</option><option value="loose">loose</option></select></label>'
        '<label>text <input id="f-q" type="search" placeholder="search prompts, responses, reasons"></label>'
        f'<span id="f-count" class="muted">{len(items)} listed</span></div>{note}'
        f'<div id="failures">{"".join(items)}</div>'
    )


def render_html(report: dict[str, Any]) -> str:
    """The whole page as one string."""
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    names = ", ".join(run["name"] for run in report["runs"])
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>adhere report: {_e(report['benchmark'])} ({_e(names)})</title><style>{_CSS}</style></head><body>"
        f"<h1>adhere report: {_e(report['benchmark'])}</h1>"
        f'<p class="muted">{len(report["runs"])} run(s) · generated {when}</p>'
        f"{_runs_table(report)}{_comparisons(report)}{_per_id(report)}{_failures(report)}"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def _moves_table(moves: list[dict[str, Any]], a: str, b: str, first: str) -> str:
    rows = []
    for m in moves:
        delta = m["delta"]
        css = " sig" if delta > 0 else " worse" if delta < 0 else ""
        rows.append(f'<tr><td><code>{_e(m["id"])}</code></td><td class="num">{m["n"]}</td><td class="num">{m["a"]}</td>'
                    f'<td class="num">{m["b"]}</td><td class="num{css}">{f"{delta:+d}" if delta else "0"}</td></tr>')  # fmt: skip
    return (f'<table class="changes"><tr><th>{first}</th><th class="num">n</th><th class="num">{_e(a)}</th>'
            f'<th class="num">{_e(b)}</th><th class="num">change</th></tr>{"".join(rows)}</table>')  # fmt: skip


def _changes_section(row: dict[str, Any], heading: bool = True) -> str:
    from adhere.report.compare import COLLAPSE

    fell = ", ".join(f'<code>{_e(m["id"])}</code> ({m["delta"]:+d})' for m in row["fell"]) or "none"
    cut = ", ".join(f"{_e(name)} {count} of {prompts}" for name, (count, prompts) in row["cut_off"].items()
                    if count is not None)  # fmt: skip
    title = (f'<h3>{_e(row["b"])} vs {_e(row["a"])} on {_e(row["benchmark"])} <span class="muted">({row["strictness"]})'
             "</span></h3>") if heading else f'<h4>Per instruction id <span class="muted">({row["strictness"]})</span></h4>'  # fmt: skip
    return (
        title + f'<p>Ids followed more than {COLLAPSE} times fewer: {fell}.'
        + (f" Answers cut off at the token limit: {cut}." if cut else "") + "</p>"
        + _moves_table(row["families"], row["a"], row["b"], "family")
        + f"<details><summary>every instruction id</summary>{_moves_table(row['moves'], row['a'], row['b'], 'instruction id')}"
        "</details>"
    )


def render_loop_html(summary: dict[str, Any]) -> str:
    """The page of an ``adhere loop`` run: each evaluated model's accuracies beside the baseline's,
    the significance of each change, what each stage made, and the wall time of every stage."""
    from adhere.report.loop import change_rows, headline_rows, made_rows

    recipe = summary["recipe"]
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    benchmarks = list(summary["benchmarks"])
    head = "".join(
        f'<th class="num">{_e(b)} {_NAMES[summary["benchmarks"][b]["headline"]]}<br><span class="ci">95% CI</span></th>'
        f'<th class="num">change vs {_e(recipe["baseline"])}<br><span class="ci">95% CI · p (bootstrap, McNemar)</span></th>'
        for b in benchmarks
    )
    rows = []
    for row in headline_rows(summary):
        cells, prompts = "", []
        for benchmark in benchmarks:
            cell = row["cells"].get(benchmark)
            if cell is None:
                cells += '<td class="num">–</td><td class="num">–</td>'
                continue
            prompts.append(f'{cell["prompts"]} {_e(benchmark)}')
            cells += (f'<td class="num">{_pct(cell["accuracy"])}<br><span class="ci">'
                      f'{_interval(cell["interval"])}</span></td>')  # fmt: skip
            change = cell["change"]
            if change is None:
                cells += '<td class="num">–</td>'
                continue
            interval = change["interval"]
            significant = interval and (interval[0] > 0 or interval[1] < 0)
            kind = "" if not significant else (' class="sig"' if change["delta"] > 0 else ' class="worse"')
            cells += (f'<td class="num"><span{kind}>{100 * change["delta"]:+.1f} pts</span><br><span class="ci">'
                      f'{_interval(interval, points=True)} · p {_p(change["p_bootstrap"])}, {_p(change["p_mcnemar"])}'
                      "</span></td>")  # fmt: skip
        rows.append(f'<tr><td><strong>{_e(row["name"])}</strong><br><span class="muted">{", ".join(prompts)} prompts'
                    f"</span></td>{cells}</tr>")  # fmt: skip
    made = "".join(f'<tr><td><code>{_e(name)}</code></td><td>{_e(kind)}</td><td>{_e(text)}</td>'
                   f'<td class="num">{_duration(summary["seconds"].get(name, 0.0))}</td></tr>'
                   for name, kind, text in made_rows(summary))  # fmt: skip
    changes = "".join(_changes_section(row) for row in change_rows(summary))
    if changes:
        changes = ("<h2>Where the changes come from</h2><p class=\"muted\">Per instruction id and per family (the id's "
                   "part before the colon): how many of its instructions each model followed, on the same prompts, in "
                   f"the benchmark's headline strictness; largest gain first.</p>{changes}")  # fmt: skip
    links = " · ".join(f'<a href="report-{_e(b)}.html">{_e(b)}: every metric, per instruction, failures</a>' for b in benchmarks)
    params = ", ".join(f"{k}={v}" for k, v in recipe["params"].items()) or "none"
    title = f"adhere loop: {recipe['name']} on {summary['model']}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(title)}</h1><p>{_e(recipe['description'])}</p>"
        f'<p class="muted">generated {when} · total wall time {_duration(summary["total_seconds"])} · {links}</p>'
        f'<h2>Accuracy by model</h2><table id="models"><tr><th>model</th>{head}</tr>{"".join(rows)}</table>'
        '<p class="muted">Intervals: percentile bootstrap over prompts; changes are paired over the same prompts '
        "(bootstrap interval of the difference; exact McNemar test on prompts that flipped). "
        "Green or red: the interval excludes zero.</p>"
        f"{changes}"
        '<h2>What each stage made</h2><table id="stages"><tr><th>stage</th><th>kind</th><th>made</th>'
        f'<th class="num">wall time</th></tr>{made}</table>'
        f'<p class="muted">Recipe {_e(recipe["source"])} · parameters: {_e(params)}</p></body></html>\n'
    )
