"""adhere's pairwise judge against AlpacaEval's own annotator: the same requests, the same preferences.

AlpacaEval (the alpaca-eval package, benchmark environment) and `adhere eval alpaca-eval` judge the
same pairs (the first N AlpacaEval 2 instructions, gpt4_1106_preview's reference outputs against
alpaca-7b's outputs, from ../shared/data/alpaca_eval) with `weighted_alpaca_eval_gpt4_turbo`,
against the same OpenAI-compatible server, which logs every request:

- `--server fake` (the default): tests/models/fault_server.py's deterministic judge, whose top
  log-probabilities are drawn from a hash of the messages (seconds, no model);
- `--server llama`: llama-cpp-python's server on the bundled model (run it alone: minutes).

The script fails unless every instruction's request (messages, model, max_tokens, temperature,
logprobs, top_logprobs) is identical between the two and every preference is equal.

Usage: .venv-bench/bin/python benchmarks/judge_protocol_check.py [--count N] [--server fake|llama]
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ADHERE_SHARED", ROOT.parent / "shared"))
ALPACA = SHARED / "data" / "alpaca_eval"
FIELDS = ("model", "messages", "max_tokens", "temperature", "logprobs", "top_logprobs")


def start_server(kind: str, folder: Path) -> tuple[subprocess.Popen, str, Path]:
    log = folder / "requests.jsonl"
    if kind == "fake":
        actions, port_file = folder / "actions.json", folder / "port"
        actions.write_text(json.dumps([{"judge": ["m", "M"]}]))
        process = subprocess.Popen([sys.executable, str(ROOT / "tests/models/fault_server.py"), str(port_file), str(log),
                                    str(actions)])  # fmt: skip
        while not port_file.exists():
            time.sleep(0.05)
        return process, f"http://127.0.0.1:{port_file.read_text()}/v1", log
    from adhere.models.llamacpp import bundled_model_path

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("logging_proxy.py")), str(port), str(log),
                                str(bundled_model_path())])  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    import httpx

    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return process, url, log
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the llama.cpp server did not start")
        time.sleep(0.5)


def requests_by_instruction(log: Path, pairs: list[dict]) -> dict[str, dict]:
    """Each logged request, keyed by the instruction whose pair it judges."""
    out = {}
    for line in log.read_text().splitlines():
        body = json.loads(line)["body"]
        text = json.dumps(body["messages"])
        matches = [p["instruction"] for p in pairs if json.dumps(p["instruction"])[1:-1] in text]
        key = max(matches, key=len)  # the longest instruction the messages hold
        out[key] = {field: body.get(field) for field in FIELDS}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--server", choices=("fake", "llama"), default="fake")
    args = parser.parse_args()
    references = json.loads((ALPACA / "reference_outputs.json").read_text())[: args.count]
    judged = json.load(gzip.open(ALPACA / "annotations" / "alpaca-7b.json.gz", "rt"))[: args.count]
    outputs = [{"instruction": r["instruction"], "output": r["output_2"], "generator": "alpaca-7b"} for r in judged]
    assert [r["instruction"] for r in references] == [o["instruction"] for o in outputs]

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        ref_path, out_path = folder / "reference.json", folder / "outputs.json"
        ref_path.write_text(json.dumps(references))
        out_path.write_text(json.dumps(outputs))
        results = {}
        for who in ("alpaca_eval", "adhere"):
            work = folder / who
            work.mkdir()
            process, url, log = start_server(args.server, work)
            try:
                started = time.perf_counter()
                if who == "alpaca_eval":
                    env = {**os.environ, "OPENAI_API_KEY": "none", "OPENAI_API_BASE": url, "OPENAI_MAX_CONCURRENCY": "1"}
                    code = ("import json,sys\nfrom alpaca_eval.annotators import PairwiseAnnotator\n"
                            "a = PairwiseAnnotator(annotators_config='weighted_alpaca_eval_gpt4_turbo', caching_path=None)\n"
                            f"rows = a.annotate_head2head(outputs_1=json.load(open({str(ref_path)!r})), "
                            f"outputs_2=json.load(open({str(out_path)!r})))\n"
                            f"json.dump(rows, open({str(work / 'annotations.json')!r}, 'w'))\n")  # fmt: skip
                    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
                else:
                    done = subprocess.run([sys.executable, "-m", "adhere.cli", "eval", "alpaca-eval", "--judge",
                                           "openai:gpt-4-1106-preview", "-J", f"base_url={url}", "-J", "concurrency=1",
                                           "--outputs", str(out_path), "--reference", str(ref_path), "--no-cache",
                                           "--out-dir", str(work / "run")], capture_output=True, text=True)  # fmt: skip
                seconds = time.perf_counter() - started
                if done.returncode != 0:
                    raise SystemExit(f"{who} failed:\n{done.stderr[-3000:]}")
            finally:
                process.terminate()
                process.wait(30)
            path = work / "annotations.json" if who == "alpaca_eval" else work / "run" / "annotations.json"
            rows = json.loads(path.read_text())
            results[who] = {"seconds": seconds, "requests": requests_by_instruction(log, references),
                            "preferences": {r["instruction"]: r["preference"] for r in rows}}  # fmt: skip

    theirs, ours = results["alpaca_eval"], results["adhere"]
    same_requests = sum(theirs["requests"].get(k) == v for k, v in ours["requests"].items())
    gaps = [abs(ours["preferences"][k] - v) for k, v in theirs["preferences"].items()
            if v is not None and not (isinstance(v, float) and math.isnan(v))]  # fmt: skip
    unjudged = [k for k, v in theirs["preferences"].items() if v is None or (isinstance(v, float) and math.isnan(v))]
    print(f"server: {args.server}; pairs: {len(references)}")
    print(f"requests: AlpacaEval {len(theirs['requests'])}, adhere {len(ours['requests'])}, identical {same_requests}")
    print(f"preferences: {len(gaps)} compared, largest difference {max(gaps):.2e}; "
          f"{len(unjudged)} without a preference in AlpacaEval's"
          f"{'' if all(ours['preferences'][k] is None for k in unjudged) else ' (adhere has one: differs)'}")  # fmt: skip
    print(f"wall: AlpacaEval {theirs['seconds']:.1f} s, adhere {ours['seconds']:.1f} s")
    ok = (same_requests == len(theirs["requests"]) == len(ours["requests"]) and max(gaps) <= 1e-9
          and all(ours["preferences"][k] is None for k in unjudged))  # fmt: skip
    print("identical" if ok else "DIFFERENT")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
