"""`adhere push`: a run as a Hugging Face dataset folder that `datasets` reads; a push that cannot
reach the Hub is one line and a failed exit."""

from __future__ import annotations

import json
import os

import pytest

from tests.bench.test_cli import adhere
from tests.conftest import IFEVAL, read_jsonl, write_jsonl


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """An `adhere eval` run of 12 IFEval prompts against a server that echoes them."""
    from tests.models.test_openai_backend import FaultServer

    folder = tmp_path_factory.mktemp("run")
    prompts = write_jsonl(folder / "prompts.jsonl", read_jsonl(IFEVAL / "input_data.jsonl")[:12])
    server = FaultServer(folder, [{"status": 200}])
    try:
        result = adhere("eval", "ifeval", "--model", "openai:m", "-M", f"base_url={server.url}", "--data", prompts,
                        "--out-dir", folder / "run", "--no-cache")  # fmt: skip
    finally:
        server.kill()
    assert result.returncode == 0, result.stderr
    return folder / "run"


def test_a_run_becomes_a_dataset_folder_that_datasets_reads(tmp_path, scored, monkeypatch):
    datasets = pytest.importorskip("datasets")
    result = adhere("push", scored, "--out-dir", tmp_path / "ds")
    assert result.returncode == 0, result.stderr
    card = (tmp_path / "ds" / "README.md").read_text()
    assert card.startswith("---\nconfigs:") and "| prompt level strict |" in card
    summary = json.loads((scored / "summary.json").read_text())
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    loaded = datasets.load_dataset(str(tmp_path / "ds"), cache_dir=str(tmp_path / "cache"))["results"]
    assert len(loaded) == summary["prompts"]
    assert sum(loaded["follow_all_strict"]) / len(loaded) == pytest.approx(summary["accuracy"]["prompt_level_strict"])
    first = loaded[0]
    assert first["prompt"] and first["response"] == "echo: " + first["prompt"]
    assert len(first["reasons_strict"]) == len(first["instruction_id_list"])
    assert json.loads((tmp_path / "ds" / "config.json").read_text())["model"] == "openai:m"


def test_a_push_that_cannot_reach_the_hub_says_so(tmp_path, scored):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("HF_TOKEN", None)
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "adhere.cli", "push", str(scored), "--repo", "me/results"],
                          capture_output=True, text=True, env=env)  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot push" in lines[0] and "me/results" in lines[0] and "HF_TOKEN" in lines[0]
    assert "Traceback" not in done.stderr
    nothing = adhere("push", scored)
    assert nothing.returncode == 2 and "needs --repo USER/NAME" in nothing.stderr
    bad = adhere("push", scored, "--repo", "results")
    assert bad.returncode == 2 and "--repo must be USER/NAME" in bad.stderr
