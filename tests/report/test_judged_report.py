"""The report of judged runs: AlpacaEval win rates (with LC and lengths) and judge checks, as one
offline page, checked as text and in headless Chromium."""

from __future__ import annotations

import json
import subprocess
import sys

from adhere.bench.requirements import agreement, agreement_by_id
from tests.conftest import DATA
from tests.report.test_browser import chromium, decode_png

ALPACA = DATA / "alpaca_eval" / "annotations"


def _check_dir(tmp_path):
    rows = [{"key": k, "instruction_id": i, "truth": t, "met": m, "p_yes": p}
            for k, (i, t, m, p) in enumerate([("punctuation:no_comma", True, True, 0.9),
                                              ("punctuation:no_comma", False, True, 0.7),
                                              ("length_constraints:number_words", True, False, 0.4),
                                              ("length_constraints:number_words", False, None, None)])]  # fmt: skip
    folder = tmp_path / "judge-check-x"
    folder.mkdir()
    (folder / "judge_check.json").write_text(json.dumps({"judge": "openai:x", "prompts": 4, "overall": agreement(rows),
                                                         "by_instruction_id": agreement_by_id(rows)}))  # fmt: skip
    return folder


def test_judged_runs_make_their_own_report(tmp_path):
    files = [ALPACA / f"gpt-3.5-turbo-1106{v}.json.gz" for v in ("", "_concise", "_verbose")]
    check = _check_dir(tmp_path)
    out = tmp_path / "judged.html"
    done = subprocess.run([sys.executable, "-m", "adhere.cli", "report", *map(str, files), str(check), "--out", str(out),
                           "--json", str(tmp_path / "judged.json")], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    assert page.count("<tr><td><strong>gpt-3.5-turbo-1106") == 3 and "LC win rate" in page
    assert "9.2%" in page  # gpt-3.5-turbo-1106's win rate, 9.18
    assert "Judge check: openai:x" in page and "no verdict" in page and "punctuation:no_comma" in page
    data = json.loads((tmp_path / "judged.json").read_text())
    assert all("length_controlled_winrate" in run for run in data["pairwise"])
    assert data["judge_checks"][0]["overall"]["true_met"] == 1
    assert "gpt-3.5-turbo-1106: win rate 9.2" in done.stdout
    mixed = subprocess.run([sys.executable, "-m", "adhere.cli", "report", str(files[0]), str(tmp_path)],
                           capture_output=True, text=True)  # fmt: skip
    assert mixed.returncode == 2 and "separate reports" in mixed.stderr
    shot = tmp_path / "shot.png"
    chromium("--window-size=1200,900", f"--screenshot={shot}", out.as_uri())
    _, _, rows, channels = decode_png(shot.read_bytes())
    model_bar = bytes((0x2F, 0x6F, 0xDE))
    drawn = sum(1 for row in rows if model_bar in {row[x : x + 3] for x in range(0, len(row), channels)})
    assert drawn >= 3 * 9  # three length bars, 9 pixels high each
