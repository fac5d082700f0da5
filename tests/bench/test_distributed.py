"""`--executor ray` on a real local Ray runtime: the same outputs as local runs, and real kills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from adhere.errors import AdhereError, InputError, MissingExtraError
from tests.conftest import IFEVAL, read_jsonl

pytest.importorskip("ray")
pytest.importorskip("llama_cpp")

INPUTS = str(IFEVAL / "input_data.jsonl")


def adhere(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "adhere.cli", *args], capture_output=True, text=True, **kwargs)


def eval_args(out, cache, limit=8, *extra):
    return ("eval", "ifeval", "--data", INPUTS, "--limit", str(limit), "--max-tokens", "24", "--out-dir", str(out),
            "--cache", str(cache), *extra)  # fmt: skip


def without_timing(summary):
    summary = json.loads(summary.read_text())
    summary.get("cost", {}).pop("generation_seconds_this_run", None)
    return summary


def test_ray_scoring_writes_the_local_verdicts(tmp_path):
    responses = str(IFEVAL / "input_response_data_gpt4_20231107_145030.jsonl")
    local = adhere("score", responses, "--inputs", INPUTS, "--out-dir", str(tmp_path / "local"), "--quiet")
    ray = adhere("score", responses, "--inputs", INPUTS, "--out-dir", str(tmp_path / "ray"), "--quiet",
                 "--executor", "ray", "--ray-workers", "2")  # fmt: skip
    assert local.returncode == 0 and ray.returncode == 0, ray.stderr[-2000:]
    assert (tmp_path / "ray" / "verdicts.jsonl").read_bytes() == (tmp_path / "local" / "verdicts.jsonl").read_bytes()
    assert without_timing(tmp_path / "ray" / "summary.json") == without_timing(tmp_path / "local" / "summary.json")


def test_ray_eval_from_the_cache_is_the_local_run(tmp_path):
    cache = tmp_path / "cache.sqlite"
    local = adhere(*eval_args(tmp_path / "local", cache))
    assert local.returncode == 0, local.stderr[-2000:]
    ray = adhere(*eval_args(tmp_path / "ray", cache, 8, "--executor", "ray", "--ray-workers", "2"))
    assert ray.returncode == 0, ray.stderr[-2000:]
    assert (tmp_path / "ray" / "verdicts.jsonl").read_bytes() == (tmp_path / "local" / "verdicts.jsonl").read_bytes()
    # The same rows, every one now a cache hit.
    ray_rows = read_jsonl(tmp_path / "ray" / "responses.jsonl")
    assert all(row.pop("cached") for row in ray_rows)
    assert ray_rows == [{k: v for k, v in row.items() if k != "cached"} for row in read_jsonl(tmp_path / "local" / "responses.jsonl")]
    assert without_timing(tmp_path / "ray" / "summary.json") == without_timing(tmp_path / "local" / "summary.json")
    assert json.loads((tmp_path / "ray" / "config.json").read_text())["executor"] == "ray"


def _workers():
    found = subprocess.run(["pgrep", "-f", "_GenerationWorker"], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found if int(pid) != os.getpid()]


def _wait(condition, process, seconds=300):
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, "the run ended before the kill"
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def test_a_killed_worker_is_retried_and_a_killed_driver_resumes(tmp_path):
    out, cache = tmp_path / "run", tmp_path / "cache.sqlite"
    args = [sys.executable, "-m", "adhere.cli", *eval_args(out, cache, 12, "--executor", "ray", "--ray-workers", "2")]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    responses = out / "responses.jsonl"
    _wait(lambda: responses.exists() and responses.read_text().count("\n") >= 1 and _workers(), process)
    os.kill(_workers()[0], signal.SIGKILL)  # a worker process dies mid-run: Ray restarts it and retries
    _wait(lambda: responses.read_text().count("\n") >= 5, process)
    os.kill(process.pid, signal.SIGKILL)  # then the driver dies
    process.wait()
    assert not (out / "verdicts.jsonl").exists()
    done_before = {json.dumps(row["key"]) for row in read_jsonl(responses) if row.get("response") is not None}

    rerun = adhere(*eval_args(out, cache, 12, "--executor", "ray", "--ray-workers", "2"), timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"{len(done_before)} of 12 responses already done" in rerun.stderr
    rows = read_jsonl(responses)
    assert len(rows) == 12 and len({json.dumps(r["key"]) for r in rows}) == 12
    assert all(r["response"] is not None for r in rows)
    assert len(read_jsonl(out / "verdicts.jsonl")) == 12
    # The same responses a local run over the same cache gives.
    local = adhere(*eval_args(tmp_path / "local", cache, 12))
    assert local.returncode == 0
    assert (tmp_path / "local" / "verdicts.jsonl").read_bytes() == (out / "verdicts.jsonl").read_bytes()


def test_bad_ray_settings_are_one_line(tmp_path):
    unreachable = adhere(*eval_args(tmp_path / "x", tmp_path / "c.sqlite", 2, "--executor", "ray",
                                    "--ray-address", "127.0.0.1:9"), timeout=120)  # fmt: skip
    assert unreachable.returncode != 0
    assert "--ray-address 127.0.0.1:9: no Ray cluster answers there" in unreachable.stderr
    assert len(unreachable.stderr.strip().splitlines()) == 1
    local_only = adhere(*eval_args(tmp_path / "y", tmp_path / "c.sqlite", 2, "--ray-workers", "2"))
    assert "--ray-address and --ray-workers need --executor ray" in local_only.stderr


def test_missing_ray_names_the_install(monkeypatch):
    from adhere.bench import distributed

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'adhere\[ray\]'"):
        distributed.executor_from_args("ray", None, None)


def test_a_worker_that_cannot_load_the_model_fails_the_run_at_the_first_try():
    """A model no worker can load (a server that refuses the key) fails the run with the worker's
    own error after one worker tried: Ray starts no other to fail the same way. The server counts
    the tries, since every worker checks the server once as it starts."""
    from adhere.bench.distributed import RayExecutor
    from adhere.bench.generate import EvalOptions
    from adhere.bench.run import Rows

    import ray

    checks = []

    class Refuse(BaseHTTPRequestHandler):
        def do_GET(self):
            checks.append(self.path)
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    executor = RayExecutor(workers=1)
    try:
        todo = [({"key": k, "prompt": "Hi", "instruction_id_list": [], "kwargs": []}, 0) for k in range(4)]
        options = EvalOptions(model="openai:fake", backend_options={"base_url": f"http://127.0.0.1:{server.server_port}/v1"})
        with pytest.raises(AdhereError, match=r"a Ray worker failed: .*refused the request \(HTTP 401\)"):
            executor.generate(options, todo, None, Rows())
        assert checks == ["/v1/models"]
        # The driver never loads the model itself: a worker describes it, and its error is the run's.
        with pytest.raises(AdhereError, match="a Ray worker failed: .*does not exist"):
            executor.describe("gguf:/nonexistent/model.gguf", {})
        with pytest.raises(InputError, match="--ray-workers must be at least 1"):
            RayExecutor(workers=0)
    finally:
        ray.shutdown()
        server.shutdown()


def test_ray_scoring_streams_in_windows_and_keeps_the_order():
    """Many small windows (3 tasks of 50 items each): the verdicts are the local ones, in order."""
    import ray

    from adhere.bench.distributed import RayExecutor
    from adhere.bench.items import iter_items
    from adhere.bench.scoring import score_items

    responses = IFEVAL / "input_response_data_gpt4_20231107_145030.jsonl"
    executor = RayExecutor(workers=2, score_batch=50, score_window=3)
    try:
        scored = list(executor.score(iter_items(responses, INPUTS)))
    finally:
        ray.shutdown()
    local = list(score_items(iter_items(responses, INPUTS)))
    assert len(local) == 541 and scored == local


def test_vllm_engines_are_placed_on_gpus():
    """A vLLM actor asks Ray for tensor-parallel-size GPUs; one engine per that many GPUs by default."""
    import ray

    from adhere.bench.distributed import RayExecutor

    ray.init(num_cpus=2, num_gpus=4, include_dashboard=False, log_to_driver=False)  # logical GPUs
    try:
        executor = RayExecutor()
        assert executor._placement("vllm", {}) == (1, 4, 256)
        assert executor._placement("vllm", {"tensor_parallel_size": 2}) == (2, 2, 256)
        assert executor._placement("gguf", {}) == (0, 2, 16)
        with pytest.raises(InputError, match=r"needs GPU workers with 8 GPU\(s\) each; the cluster has 4"):
            executor._placement("vllm", {"tensor_parallel_size": 8})
        assert RayExecutor(workers=1)._placement("vllm", {}) == (1, 1, 256)
    finally:
        ray.shutdown()


def test_the_loops_sampling_with_a_strategy_on_ray_is_the_local_run(tmp_path):
    """A recipe's answer stage (synthesized prompts, best-of-n:2) through a Ray executor writes the
    local run's verdicts and rows, over the same cache."""
    import ray

    from adhere.bench.distributed import RayExecutor
    from adhere.models.cache import ResponseCache
    from adhere.recipe import RecipeRun, Workspace
    from adhere.recipe.spec import parse_recipe
    from tests.conftest import IFBENCH

    recipe = parse_recipe({"stages": {
        "prompts": {"kind": "synth", "count": 6},
        "answers": {"kind": "answer", "prompts": "prompts", "strategy": "best-of-n:2", "max_tokens": 24},
    }}, "test", {})  # fmt: skip
    cache = ResponseCache(tmp_path / "cache.sqlite")
    data = {"ifeval": INPUTS, "ifbench": str(IFBENCH / "IFBench_test.jsonl")}
    RecipeRun(recipe, Workspace(out=tmp_path / "local-loop", data=data, cache=cache)).run()
    on_ray = RecipeRun(recipe, Workspace(out=tmp_path / "ray-loop", data=data, cache=cache,
                                         executor=RayExecutor(workers=2)))  # fmt: skip
    try:
        on_ray.run()
    finally:
        ray.shutdown()
    for name in ("local", "ray"):
        (tmp_path / f"{name}-loop" / "answers" / "run").rename(tmp_path / name)
    assert (tmp_path / "ray" / "verdicts.jsonl").read_bytes() == (tmp_path / "local" / "verdicts.jsonl").read_bytes()
    # The same rows; on Ray every call was a cache hit, so only this run's cost and model time differ.
    ray_rows = read_jsonl(tmp_path / "ray" / "responses.jsonl")
    costs = [row.pop("cost") for row in ray_rows]
    assert len(ray_rows) == 6 and all(cost["calls"] == 2 and cost["uncached_calls"] == 0 for cost in costs)
    local_rows = read_jsonl(tmp_path / "local" / "responses.jsonl")
    for row in ray_rows + local_rows:
        row.pop("cached"), row.pop("cost", None), row.pop("latency_s")
    assert ray_rows == local_rows and {row["strategy"] for row in ray_rows} == {"best-of-n:2"}
    assert json.loads((tmp_path / "ray" / "config.json").read_text())["executor"] == "ray"
