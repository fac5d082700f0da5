"""``adhere loop``: a model improves its own instruction following with the verifiers.

Each round: synthesize verifiable prompts (their tasks decontaminated against IFEval and IFBench),
sample answers with a strategy (best-of-n by default) and verify them, make rejection-sampled SFT
rows and preference pairs, train (LoRA SFT, DPO or SFT then DPO), merge and export the result as a
GGUF for llama.cpp, and evaluate it on IFEval and IFBench beside the base model.

Everything lives in the run directory: ``loop_config.json``, ``base/{ifeval,ifbench}`` and
``round-N/`` (``prompts.jsonl``, ``samples/``, ``sft.jsonl``, ``pairs.jsonl``, ``train-*/``,
``model.gguf``, ``ifeval/``, ``ifbench/``), each with its own card or config, ``stages.jsonl``
(the wall time of every stage attempt), ``loop.json`` and ``report.html`` (with the full
``report-ifeval.html`` and ``report-ifbench.html`` beside it).

Resuming: a finished stage leaves ``stages/<name>.json`` and is not run again; an unfinished one
resumes by its own means (the response cache and run directories for generation, checkpoints for
training, atomic writes for files). Kill the loop anywhere and rerun the same command. A rerun
with more ``--rounds`` continues; other changed settings are refused.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from adhere.errors import AdhereError, InputError
from adhere.jsonl import atomic_write, split_lines, write_json
from adhere.lock import LOCK_NAME

TRAIN_KINDS = ("sft", "dpo", "sft+dpo")
BENCHMARKS = ("ifeval", "ifbench")
#: The accuracy each benchmark's target is stated in (issue: IFEval strict, IFBench loose).
HEADLINE = {"ifeval": "prompt_level_strict", "ifbench": "prompt_level_loose"}


@dataclasses.dataclass(frozen=True)
class LoopConfig:
    """One loop's settings; all of it is written to ``loop_config.json``."""

    out: str
    model: str = "local"
    """The base model: local or gguf:PATH (llama.cpp runs it; transformers trains it)."""
    rounds: int = 1
    prompts: int = 1000
    """Synthesized prompts per round (fewer after decontamination)."""
    weight: tuple[str, ...] = ()
    """``ID=W``: synthesis draws this constraint id W times as often as the others (``--weight``)."""
    phrasing: str = "canonical"
    """How synthesis words each instruction: canonical or varied (``--phrasing``, as in ``adhere synth``)."""
    strategy: str = "best-of-n:4"
    """How answers are sampled and chosen (greedy, best-of-n:N[+greedy], decrim[:K], spar[:WxD])."""
    repair: bool = False
    """SFT rows and pairs also from verifier-guided repairs of samples that fail (``--repair``)."""
    keep_cut_off: bool = False
    """Also train towards samples cut off at ``max_tokens`` (``--keep-cut-off``); see ``adhere.synth.datasets``."""
    end_cut_off: bool = False
    """Also train towards cut-off samples ended where they last made sense (``--end-cut-off``)."""
    train: str = "sft"
    """sft, dpo, or sft+dpo (DPO on the SFT-trained model)."""
    epochs: float = 2.0
    max_steps: int = -1
    learning_rate: float | None = None
    dpo_learning_rate: float | None = None
    """DPO's own learning rate (``--dpo-learning-rate``; default: ``learning_rate``, else the trainer's)."""
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 768
    lora_r: int = 16
    lora_alpha: int = 32
    beta: float = 0.1
    sft_weight: float = 0.0
    """DPO's added supervised loss on the chosen answer (``--sft-weight``, RPO); SFT ignores it."""
    save_steps: int = 25
    """Training checkpoints every this many steps (a killed loop resumes training from the last)."""
    max_tokens: int = 256
    """Tokens per answer, when sampling training data and when evaluating."""
    ifeval_data: str | None = None
    """Local IFEval prompts (default: the Hub copy)."""
    ifbench_data: str | None = None
    eval_limit: int | None = None
    """Evaluate on the first N prompts of each benchmark only (the target needs all of them)."""
    export: str = "q8_0"
    """q8_0 or f16: the merged model's GGUF type."""
    seed: int = 0
    ngram: int = 8
    """Decontamination: a synthesized task sharing an n-gram with an evaluation prompt is dropped."""

    def validate(self) -> None:
        from adhere.models.base import parse_spec

        if parse_spec(self.model)[0] not in ("local", "gguf"):
            raise InputError(f"the loop trains and runs a GGUF model: --model local or gguf:PATH, got {self.model!r}")
        checks = {
            "--rounds": self.rounds >= 1, "--prompts": self.prompts >= 1, "--max-tokens": self.max_tokens >= 1,
            "--ngram": self.ngram >= 3, "--eval-limit": self.eval_limit is None or self.eval_limit >= 1,
        }  # fmt: skip
        for name, ok in checks.items():
            if not ok:
                raise InputError(f"bad loop setting {name}: {getattr(self, name[2:].replace('-', '_'))!r}")
        if self.keep_cut_off and self.end_cut_off:
            from adhere.synth.datasets import CUT_OFF_BOTH

            raise InputError(CUT_OFF_BOTH)
        if self.train not in TRAIN_KINDS:
            raise InputError(f"--train must be one of {', '.join(TRAIN_KINDS)}, got {self.train!r}")
        if self.export not in ("q8_0", "f16"):
            raise InputError(f"--export must be q8_0 or f16, got {self.export!r}")
        from adhere.improve import load_strategy

        load_strategy(self.strategy)
        self.synth_config(1).validate()
        self.train_config("sft", "x", "x")  # training settings are checked before anything runs
        self.train_config("dpo", "x", "x")

    def synth_config(self, round_: int) -> Any:
        from adhere.constraints.sampling import parse_weights
        from adhere.synth.synthesize import SynthConfig

        return SynthConfig(count=self.prompts, seed=self.seed + 1000 * (round_ - 1), weights=parse_weights(self.weight),
                           phrasing=self.phrasing)  # fmt: skip

    def train_config(self, kind: str, data: str, out: str, model: str | None = None) -> Any:
        from adhere.train.trainer import TrainConfig

        return TrainConfig(
            kind=kind, data=data, out=out, model=model or self.model, epochs=self.epochs, max_steps=self.max_steps,
            learning_rate=(self.dpo_learning_rate or self.learning_rate) if kind == "dpo" else self.learning_rate,
            batch_size=self.batch_size, grad_accum=self.grad_accum,
            max_length=self.max_length, lora_r=self.lora_r, lora_alpha=self.lora_alpha, beta=self.beta,
            sft_weight=self.sft_weight if kind == "dpo" else 0.0,
            seed=self.seed, save_steps=self.save_steps, logging_steps=5,
        )  # fmt: skip

    def resumable(self) -> dict[str, Any]:
        """What must match for a rerun to continue (not the number of rounds), as JSON holds it."""
        data = json.loads(json.dumps(dataclasses.asdict(self)))
        data.pop("rounds")
        data.pop("out")
        return data


def _same_setting(name: str, before: Any, now: Any) -> bool:
    """Equal settings; a file named two ways (``../shared/x`` and ``/work/shared/x``) is one file."""
    if before == now:
        return True
    if isinstance(before, str) and isinstance(now, str):
        if name in ("ifeval_data", "ifbench_data"):
            return os.path.realpath(before) == os.path.realpath(now)
        if name == "model":
            from adhere.models.base import parse_spec

            (kind, path), (kind_now, path_now) = parse_spec(before), parse_spec(now)
            return kind == kind_now == "gguf" and os.path.realpath(path) == os.path.realpath(path_now)
    return False


class Reporter:
    """What the loop shows while it runs (the CLI draws bars; the default shows nothing)."""

    def stage(self, label: str) -> None:
        """A stage starts."""

    def generation(self, label: str) -> AbstractContextManager[tuple[Callable[[int], None], Callable[[int, int], None]]]:
        """A context giving ``(progress, on_start)`` callbacks for a generation run."""
        return nullcontext((lambda _: None, lambda total, remaining: None))

    def skipped(self, label: str) -> None:
        """A stage was already done."""


class Loop:
    def __init__(self, config: LoopConfig, *, cache: Any = None, reporter: Reporter | None = None,
                 executor: Any = None):  # fmt: skip
        """``executor``: None generates and verifies here; a ``RayExecutor`` does both in Ray
        (sampling and every evaluation; training and export stay on this machine)."""
        config.validate()
        self.config = config
        self.out = Path(config.out)
        self.cache = cache
        self.executor = executor
        self.reporter = reporter or Reporter()
        self._eval_prompts: list[tuple[str, str]] | None = None

    # -- bookkeeping ---------------------------------------------------------------------------

    def _open(self) -> None:
        saved = self.out / "loop_config.json"
        now = self.config.resumable()
        if saved.exists():
            # A setting added to adhere after the loop started counts as its default.
            defaults = {f.name: f.default for f in dataclasses.fields(LoopConfig) if f.default is not dataclasses.MISSING}
            before = {**defaults, **json.loads(saved.read_text(encoding="utf-8"))}
            before.pop("rounds", None)
            before.pop("out", None)
            changed = sorted(k for k in set(now) | set(before) if not _same_setting(k, before.get(k), now.get(k)))
            if changed:
                raise InputError(f"{self.out} holds a loop with other settings ({', '.join(changed)}); "
                                 "rerun it with the same ones (more --rounds may be added) or use a new --out")  # fmt: skip
        elif self.out.exists() and any(p.name != LOCK_NAME for p in self.out.iterdir()):
            raise InputError(f"{self.out} is not empty and holds no adhere loop; use a new --out")
        self.out.mkdir(parents=True, exist_ok=True)
        write_json(saved, dataclasses.asdict(self.config))

    def _stage(self, name: str, label: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        marker = self.out / "stages" / f"{name}.json"
        if marker.exists():
            self.reporter.skipped(label)
            return json.loads(marker.read_text(encoding="utf-8"))["result"]
        self.reporter.stage(label)
        started, finished = time.monotonic(), False
        try:
            result = work()
            finished = True
        finally:
            seconds = round(time.monotonic() - started, 1)
            with (self.out / "stages.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"stage": name, "seconds": seconds, "finished": finished,
                                         "at": round(time.time(), 1)}) + "\n")  # fmt: skip
        write_json(marker, {"stage": name, "result": result, "seconds": self.stage_seconds().get(name)})
        return result

    def stage_seconds(self) -> dict[str, float]:
        """Wall seconds per stage, summed over its attempts (an attempt killed outright is not counted)."""
        totals: dict[str, float] = {}
        path = self.out / "stages.jsonl"
        if path.exists():
            for line in split_lines(path.read_text(encoding="utf-8")):
                try:
                    row = json.loads(line)
                except ValueError:  # a line torn by a kill
                    continue
                totals[row["stage"]] = round(totals.get(row["stage"], 0.0) + row["seconds"], 1)
        return totals

    # -- stages --------------------------------------------------------------------------------

    def _eval_data(self, benchmark: str) -> str | None:
        return self.config.ifeval_data if benchmark == "ifeval" else self.config.ifbench_data

    def _evaluation_prompts(self) -> list[tuple[str, str]]:
        """(``benchmark:key``, prompt) of every IFEval and IFBench prompt, loaded once."""
        from adhere.bench.prompts import load_prompts

        if self._eval_prompts is None:
            self._eval_prompts = [(f"{benchmark}:{row['key']}", row["prompt"]) for benchmark in BENCHMARKS
                                  for row in load_prompts(benchmark, self._eval_data(benchmark))[0]]  # fmt: skip
        return self._eval_prompts

    def _generate(self, label: str, out: Path, benchmark: str, model: str, data: str | None, *,
                  limit: int | None = None, strategy: str | None = None) -> dict[str, Any]:  # fmt: skip
        from adhere.bench.generate import EvalOptions, run_eval
        from adhere.models.config import GenerationConfig

        options = EvalOptions(benchmark=benchmark, model=model, data=data, limit=limit, strategy=strategy,
                              generation=GenerationConfig(max_tokens=self.config.max_tokens))  # fmt: skip
        with self.reporter.generation(label) as (progress, on_start):
            summary = run_eval(options, out, cache=self.cache, progress=progress, on_start=on_start,
                               command=["adhere", "loop", "--out", str(self.out)], executor=self.executor)  # fmt: skip
        return {"run": str(out), "prompts": summary.prompts, "accuracy": summary.accuracies(),
                "confidence_intervals": summary.intervals()}  # fmt: skip

    def _evaluate(self, where: str, model: str) -> None:
        for benchmark in BENCHMARKS:
            self._stage(f"{where}-{benchmark}", f"{where}: evaluate on {benchmark}",
                        lambda b=benchmark: self._generate(f"{where} {b}", self.out / where / b, b, model,
                                                           self._eval_data(b), limit=self.config.eval_limit))  # fmt: skip

    def _synthesize(self, folder: Path, round_: int) -> dict[str, Any]:
        from adhere.synth.seeds import builtin_seeds
        from adhere.synth.synthesize import write_prompts

        config = self.config.synth_config(round_)
        against = self._evaluation_prompts()
        kept, dropped, card = write_prompts(config, list(builtin_seeds()), "builtin", folder / "prompts.jsonl",
                                            against=against, against_names=list(BENCHMARKS), ngram=self.config.ngram)  # fmt: skip
        return {"prompts": len(kept), "dropped_by_decontamination": len(dropped), "eval_prompts_checked": len(against),
                "card": str(card)}  # fmt: skip

    def _make_data(self, folder: Path) -> dict[str, Any]:
        from adhere.synth.datasets import write_training_data

        result = {}
        for kind, file in (("sft", "sft.jsonl"), ("pairs", "pairs.jsonl")):
            rows, card, _ = write_training_data(folder / "samples", kind, folder / file, repair=self.config.repair,
                                                 keep_cut_off=self.config.keep_cut_off, end_cut_off=self.config.end_cut_off)
            result[kind] = {"rows": len(rows), "candidate_pass_rate": card.get("candidate_pass_rate"),
                            "prompt_pass_rate": card.get("prompt_pass_rate"), "repaired": card.get("repaired", 0),
                            "candidates": card.get("candidates"), "cut_off_candidates": card.get("cut_off_candidates", 0),
                            "ended": card.get("ended", 0), "rows_from_endings": card.get("rows_from_endings", 0)}  # fmt: skip
        result["contamination"] = self._check_contamination(folder)
        return result

    def _check_contamination(self, folder: Path) -> dict[str, Any]:
        """The training rows' tasks against the evaluation prompts, once more: must be none."""
        from adhere.synth.decontaminate import NgramIndex

        tasks = {}
        for line in split_lines((folder / "prompts.jsonl").read_text(encoding="utf-8")):
            row = json.loads(line)
            tasks[json.dumps(row["key"])] = (row.get("source") or {}).get("task") or row["prompt"]
        index = NgramIndex(self._evaluation_prompts(), self.config.ngram)
        checked = hits = 0
        for file in ("sft.jsonl", "pairs.jsonl"):
            for line in split_lines((folder / file).read_text(encoding="utf-8")):
                key = json.dumps(json.loads(line)["provenance"]["key"])
                checked += 1
                hits += index.hit(tasks[key]) is not None
        if hits:
            raise AdhereError(f"{hits} training rows in {folder} overlap an evaluation prompt; the run stops")
        return {"rows_checked": checked, "overlapping": hits, "ngram": self.config.ngram}

    def _train(self, folder: Path, kind: str, model: str) -> dict[str, Any]:
        from adhere.train.trainer import train

        data = folder / ("sft.jsonl" if kind == "sft" else "pairs.jsonl")
        if not data.read_text(encoding="utf-8").strip():
            what = "SFT rows (no sampled answer followed every constraint)" if kind == "sft" else "preference pairs"
            card = json.loads(data.with_suffix(".card.json").read_text(encoding="utf-8"))
            cut_off = card.get("cut_off_candidates", 0)
            if cut_off and not self.config.keep_cut_off:
                raise AdhereError(f"{folder.name} made no {what}: {cut_off} of {card.get('candidates')} sampled answers "
                                  f"were cut off at --max-tokens {self.config.max_tokens} and are left out; "
                                  "raise --max-tokens (or pass --end-cut-off or --keep-cut-off)")  # fmt: skip
            raise AdhereError(f"{folder.name} made no {what}; raise --prompts or use a stronger --strategy")
        return train(self.config.train_config(kind, str(data), str(folder / f"train-{kind}"), model=model))

    def _export(self, folder: Path, kind: str, base: str, out: Path) -> dict[str, Any]:
        from adhere.train.export import export

        return export(folder / f"train-{kind}", out, self.config.export, base=base)

    def _round(self, round_: int, model: str) -> str:
        name = f"round-{round_}"
        folder = self.out / name
        folder.mkdir(parents=True, exist_ok=True)
        self._stage(f"{name}-synth", f"{name}: synthesize {self.config.prompts} prompts",
                    lambda: self._synthesize(folder, round_))  # fmt: skip
        self._stage(f"{name}-sample", f"{name}: sample with {self.config.strategy} and verify",
                    lambda: self._generate(f"{name} sample", folder / "samples", "ifeval", model,
                                           str(folder / "prompts.jsonl"), strategy=self.config.strategy))  # fmt: skip
        self._stage(f"{name}-data", f"{name}: SFT rows and preference pairs", lambda: self._make_data(folder))
        trained = model
        kinds = self.config.train.split("+")
        for kind in kinds:
            self._stage(f"{name}-train-{kind}", f"{name}: train {kind}", lambda k=kind, m=trained: self._train(folder, k, m))
            target = folder / ("model.gguf" if kind == kinds[-1] else f"model-{kind}.gguf")
            self._stage(f"{name}-export-{kind}", f"{name}: export {self.config.export} GGUF",
                        lambda k=kind, m=trained, t=target: self._export(folder, k, m, t))  # fmt: skip
            trained = f"gguf:{target}"
        self._evaluate(name, trained)
        return trained

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        from adhere.lock import locked

        with locked(self.out, "loop"):  # one loop at a time writes its folder
            self._open()
            self._evaluate("base", self.config.model)
            model = self.config.model
            for round_ in range(1, self.config.rounds + 1):
                model = self._round(round_, model)
            return self.report()

    def report(self) -> dict[str, Any]:
        """``loop.json``, ``report-<benchmark>.html`` and ``report.html`` from what the run holds."""
        from adhere.report.compare import build_report
        from adhere.report.html import render_html, render_loop_html
        from adhere.report.runs import load_run

        names = ["base"] + [f"round-{r}" for r in range(1, self.config.rounds + 1)]
        summary: dict[str, Any] = {"config": dataclasses.asdict(self.config), "benchmarks": {}, "rounds": []}
        for benchmark in BENCHMARKS:
            runs = []
            for name in names:
                run = load_run(self.out / name / benchmark)
                run.name = name
                runs.append(run)
            report = build_report(runs)
            with atomic_write(self.out / f"report-{benchmark}.html") as handle:
                handle.write(render_html(report))
            summary["benchmarks"][benchmark] = {
                "headline": HEADLINE[benchmark],
                "runs": [{key: run[key] for key in ("name", "prompts", "accuracy", "confidence_intervals")}
                         for run in report["runs"]],
                "comparisons": report["comparisons"],
            }  # fmt: skip
        stages = self._stages()
        for round_ in range(1, self.config.rounds + 1):
            name = f"round-{round_}"
            summary["rounds"].append({"round": round_, **{k.removeprefix(f"{name}-"): v for k, v in stages.items()
                                                          if k.startswith(f"{name}-")}})  # fmt: skip
        summary["base"] = {k.removeprefix("base-"): v for k, v in stages.items() if k.startswith("base-")}
        summary["seconds"] = self.stage_seconds()
        summary["total_seconds"] = round(sum(summary["seconds"].values()), 1)
        write_json(self.out / "loop.json", summary)
        with atomic_write(self.out / "report.html") as handle:
            handle.write(render_loop_html(summary))
        return summary

    def _stages(self) -> dict[str, Any]:
        results = {}
        for marker in sorted((self.out / "stages").glob("*.json")):
            data = json.loads(marker.read_text(encoding="utf-8"))
            results[data["stage"]] = {"result": data["result"], "seconds": data.get("seconds")}
        return results


def iter_rounds(summary: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(run name, {benchmark: (run, comparison with base or None)}) for base and each round."""
    benchmarks = summary["benchmarks"]
    names = [run["name"] for run in next(iter(benchmarks.values()))["runs"]]
    for index, name in enumerate(names):
        row = {}
        for benchmark, data in benchmarks.items():
            comparison = data["comparisons"][index - 1] if index else None
            row[benchmark] = (data["runs"][index], comparison)
        yield name, row
