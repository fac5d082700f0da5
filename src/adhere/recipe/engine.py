"""Running a recipe as a build system runs a build: each stage's key is a hash of its settings, of
the keys of the stages it reads and of the files it reads from outside (the base model, the
benchmark data); a stage whose folder holds a finished result under the same key is skipped, a
stage under another key (its settings, or something upstream, changed) is run again from nothing,
and one cut short resumes by its own means (the response cache and run directories for
generation, checkpoints for training, atomic writes for files).

The run directory holds ``recipe.toml`` (the recipe as it ran: every parameter applied, every
setting written out, so that ``adhere loop --recipe OUT/recipe.toml`` runs it again), ``plan.json``
(each stage's key and inputs), one folder per stage (``NAME/stage.json`` once it finished),
``stages.jsonl`` (the wall time of every attempt), ``loop.json`` and ``report.html``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from adhere.errors import AdhereError
from adhere.jsonl import split_lines, write_json
from adhere.recipe.kinds import BASE, BENCHMARKS, Stage, read_tasks
from adhere.recipe.spec import Recipe
from adhere.resume import refuse_foreign
from adhere.settings import changed_table, to_table, toml_key, toml_value

#: Bumped when a stage kind's output changes for the same settings, or a setting's default
#: changes: every key changes with it. (A key holds only the settings that differ from their
#: defaults, so that a setting added to adhere later does not make every finished stage stale.)
KEY_VERSION = 2
STATE = "stage.json"
STARTED = ".key"


class Reporter:
    """What a run shows while it runs (the CLI prints lines and draws bars; the default shows nothing)."""

    def stage(self, name: str, label: str, why: str) -> None:
        """A stage starts; ``why``: runs, resumes, or re-runs (changed)."""

    def skipped(self, name: str, label: str) -> None:
        """A stage was done before."""

    def finished(self, name: str, kind: str, result: dict[str, Any]) -> None:
        """A stage ran to its end with ``result`` (what its ``stage.json`` holds)."""

    def generation(self, label: str) -> AbstractContextManager[tuple[Callable[[int], None], Callable[[int, int], None]]]:
        """A context giving ``(progress, on_start)`` callbacks for a generation run."""
        return nullcontext((lambda _: None, lambda total, remaining: None))

    def training(self, label: str) -> AbstractContextManager[Callable[[int, int, float | None, int, float], None]]:
        """A context giving a ``show(step, total, loss, start, seconds)`` callback for a training
        run, called about once a second with its last step done (``loss``: the last logged one, or
        None; ``start``: the step it started from, a resumed run's checkpoint; ``seconds``: since)."""
        return nullcontext(lambda step, total, loss, start, seconds: None)


@dataclasses.dataclass
class Workspace:
    """Where a recipe runs and what its stages share: the base model, the benchmark data, the
    response cache and the executor."""

    out: Path
    model: str = "local"
    data: dict[str, str | None] = dataclasses.field(default_factory=dict)
    """Benchmark -> local prompts file (None: the Hugging Face Hub copy)."""
    cache: Any = None
    executor: Any = None
    reporter: Reporter = dataclasses.field(default_factory=Reporter)
    recipe: Recipe | None = None
    _prompts: dict[str, list[tuple[str, str]]] = dataclasses.field(default_factory=dict)

    def folder(self, stage: str) -> Path:
        return self.out / stage

    def model_spec(self, ref: str) -> str:
        """The model spec a model reference means."""
        if ref == BASE:
            return self.model
        if self.recipe is not None and ref in self.recipe.stages:
            return f"gguf:{self.folder(ref) / 'model.gguf'}"
        return ref

    def prompts_file(self, ref: str) -> str | None:
        """The prompts file a prompts reference means (None: the benchmark's Hub copy)."""
        if ref in BENCHMARKS:
            return self.data.get(ref)
        return str(self.folder(ref) / "prompts.jsonl")

    def prompts_of(self, ref: str) -> list[tuple[str, str]]:
        """(``where:key``, prompt) of a benchmark or a synth stage, loaded once."""
        if ref not in self._prompts:
            from adhere.bench.prompts import load_prompts

            rows = load_prompts(ref if ref in BENCHMARKS else "ifeval", self.prompts_file(ref))[0]
            self._prompts[ref] = [(f"{ref}:{row['key']}", row["prompt"]) for row in rows]
        return self._prompts[ref]

    def generate(self, label: str, out: Path, benchmark: str, model: str, prompts: str, generation: Any, *,
                 limit: int | None = None, strategy: str | None = None,
                 options: dict[str, Any] | None = None, reading: Any = None) -> dict[str, Any]:  # fmt: skip
        from adhere.bench.generate import EvalOptions, run_eval
        from adhere.models.reasoning import ReasoningSettings

        options = EvalOptions(benchmark=benchmark, model=self.model_spec(model), data=self.prompts_file(prompts),
                              limit=limit, strategy=strategy, generation=generation,
                              backend_options=options or {}, reading=reading or ReasoningSettings())  # fmt: skip
        with self.reporter.generation(label) as (progress, on_start):
            summary = run_eval(options, out, cache=self.cache, progress=progress, on_start=on_start,
                               command=["adhere", "loop", "--out-dir", str(self.out)], executor=self.executor)  # fmt: skip
        return {"run": str(out.relative_to(self.out)), "prompts": summary.prompts, "accuracy": summary.accuracies(),
                "confidence_intervals": summary.intervals()}  # fmt: skip

    def check_contamination(self, rows: Path, answers: str) -> dict[str, Any]:
        """Training rows' tasks against every evaluation prompt, once more: must be none."""
        from adhere.synth.decontaminate import NgramIndex

        assert self.recipe is not None
        stage = self.recipe.stages[answers]
        prompts = self.prompts_file(stage.prompts)  # type: ignore[attr-defined]
        if prompts is None or stage.prompts in BENCHMARKS:  # type: ignore[attr-defined]
            raise AdhereError(f"{answers} answers benchmark prompts; training rows must come from synthesized ones")
        tasks = read_tasks(Path(prompts))
        ngram = 8
        index = NgramIndex([pair for name in BENCHMARKS for pair in self.prompts_of(name)], ngram)
        checked = hits = 0
        for line in split_lines(rows.read_text(encoding="utf-8")):
            key = json.dumps(json.loads(line)["provenance"]["key"])
            checked += 1
            hits += index.hit(tasks[key]) is not None
        if hits:
            raise AdhereError(f"{hits} training rows of {rows.parent.name} overlap an evaluation prompt; the run stops")
        return {"rows_checked": checked, "overlapping": hits, "ngram": ngram}

    def why_no_rows(self, stage: str) -> str:
        """Why a rows stage made none, and what to change."""
        assert self.recipe is not None
        made = self.recipe.stages[stage]
        if made.kind == "mix":
            return "every stage it mixes made none"
        from adhere.synth.datasets import why_empty

        card = json.loads((self.folder(stage) / "rows.card.json").read_text(encoding="utf-8"))
        return why_empty(card, f"max_tokens of {made.answers}")  # type: ignore[attr-defined]


def _digest_file(path: str | Path, memo: dict[str, str] = {}) -> str:  # noqa: B006 (a per-process memo)
    """sha256 of a file's bytes, remembered per (path, size, mtime)."""
    stat = os.stat(path)
    key = f"{os.path.realpath(path)}:{stat.st_size}:{stat.st_mtime_ns}"
    if key not in memo:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        memo[key] = digest.hexdigest()
    return memo[key]


def _external(ws: Workspace, recipe: Recipe, ref: str) -> str | None:
    """The identity of a reference to something outside the recipe (the base model, a benchmark,
    a model spec), or None for a stage."""
    if ref in recipe.stages:
        return None
    if ref in BENCHMARKS:
        path = ws.data.get(ref)
        return f"file:{_digest_file(path)}" if path else f"hub:{ref}"
    spec = ws.model if ref == BASE else ref
    from adhere.models.base import parse_spec

    kind, _ = parse_spec(spec)
    if kind in ("local", "gguf"):
        from adhere.models.llamacpp import gguf_path

        return f"gguf:{_digest_file(gguf_path(spec, 'the recipe'))}"
    return spec


def plan_keys(ws: Workspace, recipe: Recipe) -> dict[str, str]:
    """Each stage's key: its kind and settings, what it reads (stage keys, file digests)."""
    keys: dict[str, str] = {}
    for name, stage in recipe.stages.items():
        inputs = {}
        for field, refs in stage.references().items():
            if getattr(stage, field) is None:  # an optional reference left unset, as a setting at its default
                continue
            inputs[field] = [keys[ref] if ref in recipe.stages else _external(ws, recipe, ref) for ref in refs]
        material = {"version": KEY_VERSION, "kind": stage.kind, "settings": changed_table(stage), "inputs": inputs}
        keys[name] = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]
    return keys


@dataclasses.dataclass(frozen=True)
class Step:
    name: str
    stage: Stage
    key: str
    status: str
    """done, runs, resumes, or re-runs (its settings or an input changed)."""


def plan(ws: Workspace, recipe: Recipe) -> list[Step]:
    """What a run would do now, stage by stage."""
    keys = plan_keys(ws, recipe)
    steps = []
    for name, stage in recipe.stages.items():
        folder = ws.folder(name)
        state = _read_state(folder)
        if state is not None and state.get("key") == keys[name]:
            status = "done"
        elif state is not None:
            status = "re-runs"
        elif (folder / STARTED).exists():
            status = "resumes" if (folder / STARTED).read_text().strip() == keys[name] else "re-runs"
        else:
            status = "runs"
        steps.append(Step(name, stage, keys[name], status))
    return steps


def _read_state(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / STATE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def _dumptoml_value(recipe: Recipe) -> str:
    """The recipe as it runs: parameters applied, every stage setting written out."""
    lines = [f"# Written by adhere from {recipe.source}: every setting as it ran.", "[recipe]",
             f"name = {toml_value(recipe.name)}", f"description = {toml_value(recipe.description)}"]  # fmt: skip
    if recipe.baseline:
        lines.append(f"baseline = {toml_value(recipe.baseline)}")
    lines += ["", "[params]", *(f"{k} = {toml_value(v)}" for k, v in recipe.params.items())]
    for name, stage in recipe.stages.items():
        lines += ["", f"[stages.{name}]", f'kind = "{stage.kind}"']
        lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in to_table(stage).items()]
    return "\n".join(lines) + "\n"


class RecipeRun:
    """One recipe run in one folder: plan, run stage by stage, report."""

    def __init__(self, recipe: Recipe, ws: Workspace):
        self.recipe = recipe
        ws.recipe = recipe
        ws.out = ws.out.absolute()
        self.ws = ws
        self.out = ws.out

    def plan(self) -> list[Step]:
        return plan(self.ws, self.recipe)

    def _refuse_foreign(self) -> None:
        refuse_foreign(self.out, "plan.json", "adhere loop")

    def _open(self) -> None:
        self._refuse_foreign()  # again under the lock: another run may have written it meanwhile
        self.out.mkdir(parents=True, exist_ok=True)
        from adhere.jsonl import atomic_write, remove_stale_temporaries

        remove_stale_temporaries(self.out)
        with atomic_write(self.out / "recipe.toml") as handle:
            handle.write(_dumptoml_value(self.recipe))

    def run(self) -> dict[str, Any]:
        from adhere.lock import locked

        self._refuse_foreign()  # before the lock, which would leave its file in someone else's folder
        with locked(self.out, "loop"):  # one run at a time writes its folder
            self._open()
            steps = self.plan()
            write_json(self.out / "plan.json", {"recipe": self.recipe.source, "params": self.recipe.params,
                                                "model": self.ws.model, "data": self.ws.data,
                                                "stages": {s.name: {"kind": s.stage.kind, "key": s.key,
                                                                    "needs": self.recipe.needs(s.name)}
                                                           for s in steps}})  # fmt: skip
            for step in steps:
                self._run_step(step)
            return self.report()

    def _run_step(self, step: Step) -> None:
        folder = self.ws.folder(step.name)
        label = step.stage.describe()
        if step.status == "done":
            self.ws.reporter.skipped(step.name, label)
            return
        if step.status == "re-runs" and folder.exists():
            shutil.rmtree(folder)  # another key's output: nothing in it may be reused
        folder.mkdir(parents=True, exist_ok=True)
        (folder / STARTED).write_text(step.key + "\n", encoding="utf-8")
        self.ws.reporter.stage(step.name, label, step.status)
        started, finished = time.monotonic(), False
        try:
            result = step.stage.run(self.ws, folder)
            finished = True
        finally:
            seconds = round(time.monotonic() - started, 1)
            with (self.out / "stages.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"stage": step.name, "key": step.key, "seconds": seconds,
                                         "finished": finished, "at": round(time.time(), 1)}) + "\n")  # fmt: skip
        write_json(folder / STATE, {"stage": step.name, "kind": step.stage.kind, "key": step.key,
                                    "settings": to_table(step.stage), "result": result,
                                    "seconds": self.stage_seconds(step.key).get(step.name)})  # fmt: skip
        self.ws.reporter.finished(step.name, step.stage.kind, result)

    def stage_seconds(self, key: str | None = None) -> dict[str, float]:
        """Wall seconds per stage, summed over its attempts under its current key (or ``key``); an
        attempt killed outright is not counted."""
        keys = {s.name: s.key for s in self.plan()} if key is None else None
        totals: dict[str, float] = {}
        path = self.out / "stages.jsonl"
        if path.exists():
            for line in split_lines(path.read_text(encoding="utf-8")):
                try:
                    row = json.loads(line)
                except ValueError:  # a line torn by a kill
                    continue
                if row.get("key") == (key if keys is None else keys.get(row["stage"])):
                    totals[row["stage"]] = round(totals.get(row["stage"], 0.0) + row["seconds"], 1)
        return totals

    def report(self) -> dict[str, Any]:
        """``loop.json``, ``report-<benchmark>.html`` and ``report.html`` from what the run holds."""
        from adhere.report.loop import write_loop_report

        return write_loop_report(self)

    def evaluation_runs(self) -> dict[str, list[tuple[str, Path]]]:
        """benchmark -> [(evaluate stage, run directory)] of finished evaluations, the reference
        first: for a benchmark the baseline evaluated, the baseline; for another one (a probe set),
        the first stage that evaluated the baseline's model on it (none: not compared)."""
        recipe = self.recipe
        if recipe.baseline is None:
            return {}
        evaluations = {n: s for n, s in recipe.stages.items() if s.kind == "evaluate"}
        baseline = evaluations[recipe.baseline]
        out: dict[str, list[tuple[str, Path]]] = {}
        for benchmark in dict.fromkeys(b for s in evaluations.values() for b in s.benchmarks):  # type: ignore[attr-defined]
            if benchmark in baseline.benchmarks:  # type: ignore[attr-defined]
                first: str | None = recipe.baseline
            else:
                first = next((n for n, s in evaluations.items() if benchmark in s.benchmarks  # type: ignore[attr-defined]
                              and s.model == baseline.model), None)  # type: ignore[attr-defined]  # fmt: skip
            if first is None:
                continue
            order = [first] + [n for n in evaluations if n != first]
            runs = [(name, self.ws.folder(name) / benchmark) for name in order
                    if benchmark in evaluations[name].benchmarks  # type: ignore[attr-defined]
                    and (self.ws.folder(name) / STATE).exists()]  # fmt: skip
            if runs and runs[0][0] == first:
                out[benchmark] = runs
        return out

    def results(self) -> Iterator[tuple[str, Stage, dict[str, Any]]]:
        """(name, stage, stage.json) of every finished stage of the recipe."""
        for name, stage in self.recipe.stages.items():
            state = _read_state(self.ws.folder(name))
            if state is not None:
                yield name, stage, state


__all__ = ["RecipeRun", "Reporter", "Step", "Workspace", "plan", "plan_keys"]
