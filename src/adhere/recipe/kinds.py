"""The kinds of recipe stage: each a typed settings class (every field with its default and doc)
that names the stages it reads and knows how to run itself into its folder.

A stage's product is one of: ``prompts`` (synth), ``answers`` (answer), ``sft`` or ``pairs`` rows
(make-sft, make-pairs, mix), ``training`` (train), ``model`` (export), ``evaluation`` (evaluate).
A field that refers to other stages says which products it accepts; besides stage names a
reference may name a benchmark (``ifeval``, ``ifbench``: the loop's evaluation data) where prompts
are accepted, and ``base`` (the loop's ``--model``) or a model spec (``local``, ``gguf:PATH``)
where a model is.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from adhere.errors import AdhereError, InputError, first_line
from adhere.jsonl import atomic_write, split_lines
from adhere.models.config import GenerationConfig
from adhere.models.reasoning import ReasoningSettings
from adhere.registry import Registry
from adhere.settings import required, setting
from adhere.synth.focus import FOCUS_ON, FOCUS_WEIGHT, check_strength
from adhere.synth.settings import RowSettings
from adhere.synth.synthesize import SynthConfig
from adhere.train.settings import TrainSettings

if TYPE_CHECKING:
    from adhere.recipe.engine import Workspace

#: Names a reference may use besides stage names.
BENCHMARKS = ("ifeval", "ifbench")
BASE = "base"
#: In a train stage's folder: what the training libraries printed, and the last step done.
TRAIN_LOG = "train.log"
STEPS = "steps.json"

#: Stage kinds by name: adhere's own (this module), then plugins'.
KINDS: Registry[type[Stage]] = Registry("stage kind", lambda: None)


def stage_kind(name: str) -> Callable[[type[Stage]], type[Stage]]:
    """Register a stage kind under ``name`` (the ``kind`` key of a recipe's stage table)."""

    def register(cls: type[Stage]) -> type[Stage]:
        cls.kind = name
        return KINDS.register(name, cls)

    return register


@dataclasses.dataclass(frozen=True)
class Ref:
    """A settings field naming other stages: which products it accepts."""

    field: str
    accepts: tuple[str, ...]
    many: bool = False


class Stage:
    """Base of the stage kinds (each also a frozen settings dataclass)."""

    kind: ClassVar[str]
    #: What the stage makes, for the references that accept it.
    product: ClassVar[str]
    refs: ClassVar[tuple[Ref, ...]] = ()
    doc: ClassVar[str] = ""

    def references(self) -> dict[str, tuple[str, ...]]:
        """field -> the names it refers to."""
        out = {}
        for ref in self.refs:
            value = getattr(self, ref.field)
            out[ref.field] = tuple(value) if ref.many else ((value,) if value is not None else ())
        return out

    def run(self, ws: Workspace, folder: Path) -> dict[str, Any]:
        raise NotImplementedError

    def describe(self) -> str:
        """A few words for the plan and the progress lines."""
        return self.kind


def _generation(stage: GenerationConfig) -> GenerationConfig:
    """A stage's sampling settings alone (answer and evaluate stages are GenerationConfigs too)."""
    return GenerationConfig(**{f.name: getattr(stage, f.name) for f in dataclasses.fields(GenerationConfig)})


def in_own_process(fn: Any, *args: Any, waiting: Callable[[], None] | None = None, what: str | None = None) -> Any:
    """``fn(*args)`` in a fresh process, its result or its error returned here; ``waiting()`` is
    called about once a second meanwhile, and once at the end; ``what`` names the work in an
    error. Training and export run so: once PyTorch has trained in a process, llama.cpp
    generation in that process ran at half speed (docs/experiments.md, 2026-12-06). The child dies with this process, and a child that dies
    without an answer (killed, out of memory) is an error here, not a wait for ever."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_answer, args=(send, fn, args), daemon=True)
    child.start()
    send.close()
    try:
        answer = _wait_for(receive, child, waiting)
    finally:
        if child.is_alive():
            child.kill()  # this process was interrupted: the child goes with it
        child.join()
    if answer is None:
        raise AdhereError(f"{what or getattr(fn, '__name__', 'the work')}: its process died without a result "
                          f"({_how_it_ended(child.exitcode)}); rerun the same command: it resumes")  # fmt: skip
    if waiting is not None:
        waiting()
    ok, value = answer
    if ok:
        return value
    raise value


def _wait_for(receive: Any, child: Any, waiting: Callable[[], None] | None) -> tuple[bool, Any] | None:
    """The child's answer, or None when it died without one."""
    while not receive.poll(1.0):
        # The pipe closes when the child dies, unless a process it started holds it open.
        if not child.is_alive() and not receive.poll(1.0):
            return None
        if waiting is not None:
            waiting()
    try:
        return receive.recv()
    except EOFError:  # the pipe closed without an answer
        return None


def _answer(send: Any, fn: Any, args: tuple[Any, ...]) -> None:
    """The child's side of :func:`in_own_process`."""
    _die_with_parent()
    try:
        answer = (True, fn(*args))
    except BaseException as error:  # noqa: BLE001 (every error goes back to the parent)
        answer = (False, error)
    try:
        send.send(answer)
    except Exception:  # noqa: BLE001 (an answer that does not pickle)
        send.send((False, AdhereError(f"{type(answer[1]).__name__}: {answer[1]}")))


def _how_it_ended(code: int | None) -> str:
    import signal

    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
        return f"killed by {name}" + (", as the out-of-memory killer does" if -code == signal.SIGKILL else "")
    return f"exit status {code}"


def _die_with_parent() -> None:
    """Linux: the child is killed when its parent dies (a killed loop leaves no training behind)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def train_logged(config: Any, log: str, steps: str) -> dict[str, Any]:
    """Train in a child process of the loop: what the libraries print (warnings, their progress
    bars, their log lines) goes to ``log``, and each step to ``steps`` (a :class:`StepFile`), which
    the loop shows as its own progress."""
    import os
    import sys
    import threading
    import traceback

    from adhere.train.trainer import StepFile, train

    try:
        from tqdm import tqdm
    except ImportError:  # train() says what is missing
        pass
    else:
        # tqdm's bars share a lock between processes by default, a semaphore the resource tracker
        # then reports as leaked when this process is killed; they only write to the log here.
        tqdm.set_lock(threading.RLock())
    sys.stdout.flush()
    sys.stderr.flush()
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')}: training into {config.out}\n")
        handle.flush()
        os.dup2(handle.fileno(), 1)  # this process is the child's own: nothing else writes here
        os.dup2(handle.fileno(), 2)
    try:
        return train(config, StepFile(steps))
    except BaseException:
        traceback.print_exc()
        raise
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def _reading(stage: ReasoningSettings) -> ReasoningSettings:
    """How a stage reads its answers (a reasoning model's reasoning stripped or kept), checked."""
    return ReasoningSettings(stage.reasoning, stage.think_end)


def _check_model_options(model: str, options: tuple[tuple[str, Any], ...]) -> None:
    """Backend options checked by the backend the model names (a stage's model: llama.cpp's)."""
    from adhere.models.base import check_options

    spec = model if model == "local" or ":" in model else "gguf:model.gguf"
    check_options(spec, dict(options))


def _positive(**values: Any) -> None:
    for name, value in values.items():
        if value is not None and value < 1:
            raise InputError(f"{name} must be at least 1, got {value}")


@stage_kind("synth")
@dataclasses.dataclass(frozen=True, kw_only=True)
class Synth(Stage, SynthConfig):
    """Synthesize verifiable prompts (adhere synth; the same settings), decontaminated against evaluation prompts."""

    product: ClassVar[str] = "prompts"
    refs: ClassVar[tuple[Ref, ...]] = (Ref("decontaminate", ("prompts",), many=True), Ref("focus", ("answers",)))

    decontaminate: tuple[str, ...] = setting(BENCHMARKS, "prompts a task must not share an n-gram with: "
                                             "benchmarks or synth stages")  # fmt: skip
    ngram: int = setting(8, "decontamination n-gram length")
    focus: str | None = setting(None, "an answer stage: each constraint id drawn more often the more of its "
                                "instructions those answers failed (strict), up to focus_weight times as often; "
                                "weights given by hand override it")  # fmt: skip
    focus_weight: float = setting(FOCUS_WEIGHT, "with focus: the weight of an id every answer failed (one every answer "
                                  "followed keeps 1)")  # fmt: skip
    focus_on: str = setting("failed", "with focus: failed (every failed instruction counts) or learnable (only as "
                            "many as a round can turn into rows: all failures of an id with a repair, else its failed "
                            "share times its passed share)", choices=FOCUS_ON)  # fmt: skip

    def config(self) -> Any:
        from adhere.synth.synthesize import SynthConfig

        return SynthConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(SynthConfig)})

    def check(self) -> None:
        _positive(count=self.count)
        if self.ngram < 3:
            raise InputError(f"ngram must be at least 3, got {self.ngram}")
        check_strength(self.focus_weight, self.focus_on)
        if self.focus is None and (self.focus_weight != FOCUS_WEIGHT or self.focus_on != "failed"):
            raise InputError("focus_weight and focus_on apply with focus only; add focus = \"ANSWER-STAGE\" or "
                             "drop them")  # fmt: skip
        self.config().validate()

    def describe(self) -> str:
        learnable = " and a round can learn" if self.focus_on == "learnable" else ""
        focus = f", more of what {self.focus} failed{learnable}" if self.focus else ""
        layout = ", varied layout" if self.layout == "varied" else ""
        return f"synthesize {self.count} prompts (seed {self.seed}, {self.phrasing}{layout}{focus})"

    def run(self, ws: Workspace, folder: Path) -> dict[str, Any]:
        from adhere.synth.seeds import builtin_seeds
        from adhere.synth.synthesize import write_prompts

        config = self.config()
        if self.focus is not None:
            from adhere.synth.focus import focused

            config = focused(config, ws.folder(self.focus) / "run", self.focus_weight, self.focus_on)
        against = [pair for name in self.decontaminate for pair in ws.prompts_of(name)]
        kept, dropped, card = write_prompts(config, list(builtin_seeds()), "builtin", folder / "prompts.jsonl",
                                            against=against, against_names=list(self.decontaminate),
                                            ngram=self.ngram)  # fmt: skip
        if not kept:
            raise AdhereError(f"{folder.name}: decontamination dropped every prompt; raise count or change seed")
        result = {"prompts": len(kept), "dropped_by_decontamination": len(dropped), "prompts_checked": len(against),
                  "card": card.name}  # fmt: skip
        if self.focus is not None:
            result["focus_weights"] = dict(config.weights)
        return result


@stage_kind("answer")
@dataclasses.dataclass(frozen=True, kw_only=True)
class Answer(Stage, ReasoningSettings, GenerationConfig):
    """A model answers prompts (adhere eval; its sampling settings), every answer verified: the candidates rows are made from."""

    product: ClassVar[str] = "answers"
    refs: ClassVar[tuple[Ref, ...]] = (Ref("prompts", ("prompts",)), Ref("model", ("model",)))

    prompts: str = required("the prompts to answer: a synth stage")
    model: str = setting(BASE, "who answers: base, an export stage, or a model spec")
    strategy: str | None = setting(None, "greedy, best-of-n:N[+greedy], decrim[:K] or spar[:WxD] (default: one "
                                   "plain call per sample)")  # fmt: skip
    model_options: tuple[tuple[str, Any], ...] = setting((), "the model's backend options, as -M gives them "
                                                         "(e.g. { base_url = \"http://127.0.0.1:8000/v1\" })")  # fmt: skip

    def check(self) -> None:
        _check_model_options(self.model, self.model_options)
        self.generation()
        _reading(self)
        if self.samples > 1 and self.temperature == 0 and self.strategy is None:
            raise InputError(f"samples = {self.samples} at temperature 0 gives identical greedy answers; "
                             "set temperature (e.g. 0.7)")  # fmt: skip
        if self.strategy is not None:
            from adhere.improve import load_strategy

            load_strategy(self.strategy)

    def generation(self) -> GenerationConfig:
        return _generation(self)

    def describe(self) -> str:
        return f"{self.model} answers {self.prompts} ({self.strategy or 'plain'}, {self.max_tokens} tokens)"

    def run(self, ws: Workspace, folder: Path) -> dict[str, Any]:
        return ws.generate(folder.name, folder / "run", "ifeval", self.model, self.prompts, self.generation(),
                           strategy=self.strategy, options=dict(self.model_options), reading=_reading(self))  # fmt: skip


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Rows(Stage, RowSettings):
    refs: ClassVar[tuple[Ref, ...]] = (Ref("answers", ("answers",)),)

    answers: str = required("the answer stage whose verified candidates the rows come from")

    def describe(self) -> str:
        extras = [name for name in ("repair", "keep_cut_off", "end_cut_off") if getattr(self, name)]
        if self.max_repetition is not None:
            extras.append(f"max_repetition {self.max_repetition:g}")
        return f"{self.kind} from {self.answers}" + (f" ({', '.join(extras)})" if extras else "")

    def run(self, ws: Workspace, folder: Path) -> dict[str, Any]:
        from adhere.synth.datasets import write_training_data

        rows, card, _ = write_training_data(ws.folder(self.answers) / "run", self.product, folder / "rows.jsonl",
                                            repair=self.repair, keep_cut_off=self.keep_cut_off,
                                            end_cut_off=self.end_cut_off,
                                            max_repetition=self.max_repetition)  # fmt: skip
        result = {"rows": len(rows), **{key: card.get(key) for key in (
            "candidates", "candidate_pass_rate", "prompt_pass_rate", "repaired", "cut_off_candidates", "ended",
            "rows_from_endings", "repetitive_candidates") if key in card}}  # fmt: skip
        result["contamination"] = ws.check_contamination(folder / "rows.jsonl", self.answers)
        return result


@stage_kind("make-sft")
@dataclasses.dataclass(frozen=True, kw_only=True)
class MakeSft(_Rows):
    """Rejection-sampled SFT rows (adhere make-sft): the answers that follow every instruction."""

    product: ClassVar[str] = "sft"


@stage_kind("make-pairs")
@dataclasses.dataclass(frozen=True, kw_only=True)
class MakePairs(_Rows):
    """Preference pairs (adhere make-pairs): a passing answer over a failing one."""

    product: ClassVar[str] = "pairs"


@stage_kind("mix")
@dataclasses.dataclass(frozen=True, kw_only=True)
class Mix(Stage):
    """Rows of several stages, one after the other (all SFT rows or all pairs)."""

    product: ClassVar[str] = "rows"  # sft or pairs: the engine reads it from the inputs
    refs: ClassVar[tuple[Ref, ...]] = (Ref("inputs", ("sft", "pairs"), many=True),)

    inputs: tuple[str, ...] = required("the stages whose rows are mixed, in order")

    def check(self) -> None:
        if not self.inputs:
            raise InputError("inputs must name at least one stage")

    def describe(self) -> str:
        return f"mix {' + '.join(self.inputs)}"

    def run(self, ws: Workspace, folder: Path) -> dict[str, Any]:
        counts = {}
        with atomic_write(folder / "rows.jsonl") as handle:
            for name in self.inputs:
                lines = split_lines((ws.folder(name) / "rows.jsonl").read_text(encoding="utf-8"))
                counts[name] = len(lines)
                handle.writelines(line + "\n" for line in lines)
        return {"rows": sum(counts.values()), "from": counts}


@stage_kind("train")
@dataclasses.dataclass(frozen=True, kw_only=True)
class Train(Stage, TrainSettings):
    """Fine-tune with TRL (adhere train; the same settings): LoRA by default, resumable from its checkpoints."""

    product: ClassVar[str] = "training"
    refs: ClassVar[tuple[Ref, ...]] = (Ref("data", ("sft", "pairs", "prompts")), Ref("model", ("model",)))

    method: str = setting("sft", "sft, dpo, or grpo (the verifiers as reward)", choices=("sft", "dpo", "grpo"))
    data: str = required("the rows to train on: a make-sft, make-pairs or mix stage; for grpo, a synth stage")
    model: str = setting(BASE, "the model trained: base, an export stage, or a model spec")

    def config(self, data: str = "x", out: str = "x", model: str = "local") -> Any:
        from adhere.train.trainer import TrainConfig

        return TrainConfig(kind=self.method, data=data, out=out, model=model, **self.settings())

    def check(self) -> None:
        self.config()  # the trainer's own checks

    def describe(self) -> str:
        length = (f"{self.max_steps} steps" if self.max_steps > 0
                  else f"{self.epochs:g} epoch{'' if self.epochs == 1 else 's'}")  # fmt: skip
        weights = "every weight" if self.full else f"LoRA r{self.lora_r}"
        return f"{self.method.upper()} {self.model} on {self.data} ({length}, {weights})"

    def run(self, ws: Workspace, folder: Path) -> dict[str, Any]:
        data = ws.folder(self.data) / ("prompts.jsonl" if self.method == "grpo" else "rows.jsonl")
        if not data.read_text(encoding="utf-8").strip():
            raise AdhereError(f"{folder.name}: {self.data} made no rows to train on; {ws.why_no_rows(self.data)}")
        config = self.config(str(data), str(folder / "train"), ws.model_spec(self.model))
        steps = folder / STEPS
        steps.unlink(missing_ok=True)  # an earlier attempt's
        with ws.reporter.training(folder.name) as show:

            def waiting() -> None:
                try:
                    now = json.loads(steps.read_text(encoding="utf-8"))
                    shown = (now["step"], now["total"], now["loss"], now["start"], now["seconds"])
                except (OSError, ValueError, KeyError, TypeError):  # not written yet: nothing to show
                    return
                show(*shown)

            try:
                return in_own_process(train_logged, config, str(folder / TRAIN_LOG), str(steps), waiting=waiting,
                                      what=f"{folder.name}: training")  # fmt: skip
            except AdhereError:
                raise
            except Exception as error:
                raise AdhereError(f"{folder.name}: training failed: {type(error).__name__}: {first_line(error)} "
                                  f"(the whole output: {folder / TRAIN_LOG})") from error  # fmt: skip


@stage_kind("average")
@dataclasses.dataclass(frozen=True, kw_only=True)
class Average(Stage):
    """A model soup (adhere average): the uniform average of models trained from one model, exported as a train stage's is."""

    product: ClassVar[str] = "training"
    refs: ClassVar[tuple[Ref, ...]] = (Ref("inputs", ("training",), many=True),)

    inputs: tuple[str, ...] = required("the train (or average) stages averaged: all fine-tune one model, all LoRA or "
                                       "all every weight")  # fmt: skip

    def check(self) -> None:
        if len(set(self.inputs)) < 2:
            raise InputError(f"inputs must name at least 2 different stages, got {list(self.inputs)}")

    def describe(self) -> str:
        return f"average {' + '.join(self.inputs)} (a model soup)"

    def run(self, ws: Workspace, folder: Path) -> dict[str, Any]:
        from adhere.train.average import average

        return average([ws.folder(name) / "train" for name in self.inputs], folder / "train")


@stage_kind("export")
@dataclasses.dataclass(frozen=True, kw_only=True)
class Export(Stage):
    """Write a trained model as a GGUF llama.cpp runs (adhere export), merged into its base."""

    product: ClassVar[str] = "model"
    refs: ClassVar[tuple[Ref, ...]] = (Ref("train", ("training",)),)

    train: str = required("the train stage whose model is exported")
    type: str = setting("q8_0", "GGUF type of the merged model (q8_0 keeps what was learned)", choices=("q8_0", "f16"))

    def describe(self) -> str:
        return f"export {self.train} as {self.type} GGUF"

    def run(self, ws: Workspace, folder: Path) -> dict[str, Any]:
        from adhere.train.export import export

        return in_own_process(export, ws.folder(self.train) / "train", folder / "model.gguf", self.type,
                              what=f"{folder.name}: export")  # fmt: skip


@stage_kind("evaluate")
@dataclasses.dataclass(frozen=True, kw_only=True)
class Evaluate(Stage, ReasoningSettings, GenerationConfig):
    """A model on benchmarks or probe sets (adhere eval; its sampling settings), scored by the verifiers."""

    product: ClassVar[str] = "evaluation"
    refs: ClassVar[tuple[Ref, ...]] = (Ref("model", ("model",)), Ref("benchmarks", ("prompts",), many=True))

    model: str = setting(BASE, "the model evaluated: base, an export stage, or a model spec")
    benchmarks: tuple[str, ...] = setting(BENCHMARKS, "benchmarks (ifeval, ifbench) or synth stages (probe sets)")
    limit: int = setting(0, "only the first N prompts of each (0: all of them)")
    strategy: str | None = setting(None, "an inference-time strategy (default: one greedy answer)")
    model_options: tuple[tuple[str, Any], ...] = setting((), "the model's backend options, as -M gives them")

    def check(self) -> None:
        _check_model_options(self.model, self.model_options)
        _reading(self)
        if self.limit < 0:
            raise InputError(f"limit must be 0 (all) or more, got {self.limit}")
        _positive(max_tokens=self.max_tokens)
        if not self.benchmarks:
            raise InputError("benchmarks must name at least one benchmark or synth stage")
        if self.strategy is not None:
            from adhere.improve import load_strategy

            load_strategy(self.strategy)

    def describe(self) -> str:
        limit = f", first {self.limit}" if self.limit else ""
        return f"evaluate {self.model} on {', '.join(self.benchmarks)}{limit}"

    def run(self, ws: Workspace, folder: Path) -> dict[str, Any]:
        generation = _generation(self)
        return {name: ws.generate(f"{folder.name} {name}", folder / name, name if name in BENCHMARKS else "ifeval",
                                  self.model, name, generation, limit=self.limit or None, strategy=self.strategy,
                                  options=dict(self.model_options), reading=_reading(self))
                for name in self.benchmarks}  # fmt: skip


def rows_kind(stages: dict[str, Stage], name: str) -> str | None:
    """``sft`` or ``pairs`` for a stage making rows (a mix takes its inputs'), else None."""
    stage = stages.get(name)
    if isinstance(stage, Mix):
        kinds = {rows_kind(stages, n) for n in stage.inputs}
        return kinds.pop() if len(kinds) == 1 else None
    return stage.product if isinstance(stage, _Rows) else None


def read_tasks(prompts: Path) -> dict[str, str]:
    """key (as JSON) -> the task a synthesized prompt was made from (its prompt if none)."""
    tasks = {}
    for line in split_lines(prompts.read_text(encoding="utf-8")):
        row = json.loads(line)
        tasks[json.dumps(row["key"])] = (row.get("source") or {}).get("task") or row["prompt"]
    return tasks


def reference() -> str:
    """Every stage kind with its settings (type, default, doc), as Markdown: docs/recipes.md holds
    it, and a test fails when the two drift apart."""
    from adhere.settings import fields

    parts = []
    for name, cls in KINDS.items():
        if cls.__module__ != __name__:
            continue  # a plugin's kind is its own package's to document
        parts.append(f"### `{name}`\n\n{cls.__doc__}\n\n| key | type | default | what it is |\n|---|---|---|---|")
        for field in fields(cls):
            default = ("required" if field.required else "none" if field.default is None
                       else "`{}`" if field.type.startswith("table") and not field.default
                       else f"`{_show(field.default)}`")  # fmt: skip
            choices = f" ({', '.join(map(str, field.choices))})" if field.choices else ""
            parts.append(f"| `{field.name}` | {field.type} | {default} | {field.doc}{choices} |")
        parts.append("")
    return "\n".join(parts)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        if value and isinstance(value[0], tuple):
            return "{" + ", ".join(f"{k} = {v}" for k, v in value) + "}"
        return "[" + ", ".join(json.dumps(v) for v in value) + "]"
    return json.dumps(value) if isinstance(value, str) else str(value)
