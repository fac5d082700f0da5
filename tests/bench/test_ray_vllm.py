"""vLLM engines in Ray GPU workers (`--executor ray --model vllm:...`): a real run on a CUDA host.

Skipped, never faked, without Ray, vLLM and a CUDA GPU. Every response comes from a vLLM engine in
a Ray actor placed on a GPU; the local executor then rebuilds the run from the same cache and must
write the same verdicts and summary.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.conftest import IFEVAL, read_jsonl


def _ready() -> bool:
    if not all(importlib.util.find_spec(name) for name in ("ray", "vllm", "torch")):
        return False
    import torch

    return torch.cuda.is_available()


pytestmark = pytest.mark.skipif(not _ready(), reason="needs ray, vllm and a CUDA GPU")

LIMIT = 48


def adhere(*args):
    return subprocess.run([sys.executable, "-m", "adhere.cli", *args], capture_output=True, text=True)


def without_timing(path):
    summary = json.loads(path.read_text())
    summary.get("cost", {}).pop("generation_seconds_this_run", None)
    return summary


def test_vllm_engines_in_ray_gpu_workers_answer_and_score_as_a_local_run(tmp_path, dense_model_folder):
    cache = tmp_path / "cache.sqlite"
    common = ("eval", "ifeval", "--model", f"vllm:{dense_model_folder}", "--data", str(IFEVAL / "input_data.jsonl"),
              "--limit", str(LIMIT), "--max-tokens", "64", "-M", "max_model_len=2048", "-M", "gpu_memory_utilization=0.3", "--cache", str(cache))  # fmt: skip
    ray = adhere(*common, "--out-dir", str(tmp_path / "ray"), "--executor", "ray")
    assert ray.returncode == 0, ray.stderr[-3000:]
    rows = read_jsonl(tmp_path / "ray" / "responses.jsonl")
    assert sorted(row["key"] for row in rows) == sorted({row["key"] for row in rows}) and len(rows) == LIMIT
    assert not any(row.get("error") for row in rows)
    assert not any(row["cached"] for row in rows)
    assert all(1 <= row["completion_tokens"] <= 64 and row["response"].strip() for row in rows)
    config = json.loads((tmp_path / "ray" / "config.json").read_text())
    assert config["executor"] == "ray" and config["model_identity"]["backend"] == "vllm"

    local = adhere(*common, "--out-dir", str(tmp_path / "local"))
    assert local.returncode == 0, local.stderr[-3000:]
    assert all(row["cached"] for row in read_jsonl(tmp_path / "local" / "responses.jsonl"))
    assert (tmp_path / "ray" / "verdicts.jsonl").read_bytes() == (tmp_path / "local" / "verdicts.jsonl").read_bytes()
    assert without_timing(tmp_path / "ray" / "summary.json") == without_timing(tmp_path / "local" / "summary.json")
