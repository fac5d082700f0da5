"""AlpacaEval annotations: adhere's win-rate metrics equal AlpacaEval 2's leaderboard for every
model whose annotations are in ../shared/data/alpaca_eval."""

from __future__ import annotations

import csv
import gzip
import json

import pytest

from adhere.bench.pairwise import read_annotations, winrate
from adhere.errors import InputError
from tests.bench.test_cli import adhere
from tests.conftest import DATA

ALPACA = DATA / "alpaca_eval"
MODELS = sorted(p.name.removesuffix(".json.gz") for p in (ALPACA / "annotations").glob("*.json.gz"))


@pytest.fixture(scope="module")
def leaderboard():
    with (ALPACA / "leaderboard.csv").open(encoding="utf-8") as handle:
        return {row[""]: row for row in csv.DictReader(handle)}


def test_the_shared_folder_has_the_models():
    assert len(MODELS) == 12 and "alpaca-7b" in MODELS and "NullModel" in MODELS


@pytest.mark.parametrize("model", MODELS)
def test_metrics_equal_the_leaderboard(model, leaderboard):
    got = winrate(read_annotations(ALPACA / "annotations" / f"{model}.json.gz"))
    row = leaderboard[model]
    # Equal to the last bits floating-point summation order leaves (pandas sums pairwise).
    assert got["win_rate"] == pytest.approx(float(row["win_rate"]), rel=1e-11)
    assert got["standard_error"] == pytest.approx(float(row["standard_error"]), rel=1e-11)
    assert (got["n_wins"], got["n_wins_base"], got["n_draws"], got["n_total"]) == tuple(
        int(row[k]) for k in ("n_wins", "n_wins_base", "n_draws", "n_total"))
    assert got["discrete_win_rate"] == pytest.approx(float(row["discrete_win_rate"]), rel=1e-12)
    # The leaderboard measures lengths on the model's outputs file; the annotated outputs are within 1%.
    assert abs(got["avg_length"] - int(row["avg_length"])) <= 0.01 * int(row["avg_length"])
    assert got["reference"] == "gpt4_1106_preview"


def test_the_command_prints_them_and_bad_files_are_one_line(tmp_path):
    done = adhere("winrate", ALPACA / "annotations" / "alpaca-7b.json.gz", "--json")
    assert done.returncode == 0, done.stderr
    assert round(json.loads(done.stdout)["win_rate"], 4) == 2.5915
    table = adhere("winrate", ALPACA / "annotations" / "alpaca-7b_verbose.json.gz")
    assert table.returncode == 0 and "2.93" in table.stdout and "802" in table.stdout and not table.stderr
    rows = read_annotations(ALPACA / "annotations" / "alpaca-7b.json.gz")
    rows[0]["preference"] = None  # the judge gave none
    partly = tmp_path / "partly.json"
    partly.write_text(json.dumps(rows))
    table = adhere("winrate", partly)
    assert table.returncode == 0 and "1 judgment(s) without a preference were left out" in table.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"instruction": "x", "output_1": "a", "output_2": "b", "preference": 3}]))
    result = adhere("winrate", bad)
    assert result.returncode == 2 and "judgment 0: preference must be between 1" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    with pytest.raises(InputError, match="not an AlpacaEval annotations file"):
        read_annotations(_gz(tmp_path / "x.json.gz", b"{}"))


def _gz(path, data):
    with gzip.open(path, "wb") as handle:
        handle.write(data)
    return path
