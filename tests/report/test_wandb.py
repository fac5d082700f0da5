"""Logging a scored run to Weights & Biases, in W&B's offline mode (the run written locally)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import IFEVAL

pytest.importorskip("wandb", reason="needs the wandb extra: pip install 'adhere[wandb]'")


def adhere(*args, env=None):
    return subprocess.run([sys.executable, "-m", "adhere.cli", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})  # fmt: skip


def test_a_scored_run_is_logged_offline(tmp_path):
    out = tmp_path / "gpt4"
    done = adhere("score", IFEVAL / "input_response_data_gpt4_20231107_145030.jsonl", "--inputs",
                  IFEVAL / "input_data_gpt4_20231107_145030.jsonl", "--out-dir", out, "--wandb", "adhere-tests",
                  env={"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": str(tmp_path)})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "logged to W&B: adhere-tests" in done.stderr
    records = list(out.glob("wandb/offline-run-*/run-*.wandb"))
    assert len(records) == 1
    data = records[0].read_bytes()
    # The summary's keys and values are in the run's records (W&B's own protobuf log).
    assert b"prompt_level_strict" in data and b"instruction_level_loose_high" in data
    assert b"per_instruction_id" in data
    tables = list(out.glob("wandb/offline-run-*/files/media/table/per_instruction_id*.table.json"))
    assert len(tables) == 1 and '"punctuation:no_comma"' in tables[0].read_text()


def test_wandb_input_is_checked_before_any_work(tmp_path):
    responses = IFEVAL / "input_response_data_gpt4_20231107_145030.jsonl"
    bad = adhere("score", responses, "--out-dir", tmp_path / "x", "--wandb", "a/b/c")
    assert bad.returncode == 2 and "ENTITY/PROJECT" in bad.stderr and not (tmp_path / "x").exists()
    no_dir = adhere("score", responses, "--wandb", "p")
    assert no_dir.returncode == 2 and "give --out-dir DIR too" in no_dir.stderr
    failed = adhere("score", responses, "--inputs", IFEVAL / "input_data_gpt4_20231107_145030.jsonl", "--out-dir",
                    tmp_path / "y", "--wandb", "p", env={"WANDB_MODE": "online", "WANDB_API_KEY": "", "WANDB_SILENT": "true",
                                                           "HOME": str(tmp_path)})  # fmt: skip
    # No login: the run is scored and written, the logging failure is one line and exit 1.
    assert failed.returncode == 1 and "logging it to W&B failed" in failed.stderr
    assert (tmp_path / "y" / "summary.json").exists()
