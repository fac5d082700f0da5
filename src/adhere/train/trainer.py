"""``adhere train sft|dpo|grpo``: LoRA (or full) fine-tuning with TRL on the model the embedded backend
runs. GRPO samples a group of answers per prompt and rewards each by adhere's verifiers
(``adhere.train.rewards``): reinforcement learning with verifiable rewards.

The transformers model is loaded from the same GGUF file llama.cpp runs (``gguf_file=``): as dense
fp32 weights, with the GGUF quantizer detached so that transformers lets it train. ``hf:`` loads
any transformers checkpoint instead.

The output folder holds TRL's checkpoints (``checkpoint-N``, every ``save_steps``), ``log.jsonl``
(one row per logging step: loss, learning rate, and for DPO the rewards and their margin),
``train_config.json`` and, at the end, ``final/`` (the LoRA adapter, or the whole model, with the
tokenizer) and ``result.json``. Rerunning the same command resumes from the last checkpoint; a
different configuration in the same folder is refused.
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adhere.errors import InputError, MissingExtraError, first_line
from adhere.jsonl import split_lines, write_json
from adhere.lock import locked
from adhere.resume import refuse_changed, refuse_foreign
from adhere.train.data import load_rows
from adhere.train.settings import TrainSettings

#: ``progress(step, total, loss)``: after each optimizer step (and once at the start, with the step
#: a resumed run starts from); ``loss`` is the last logged one, None before the first log.
Progress = Callable[[int, int, "float | None"], None]

INSTALL_HINT = "pip install 'adhere[train]' (and a torch build for your hardware, e.g. torch==2.13.0 on CPU)"
KINDS = ("sft", "dpo", "grpo")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig(TrainSettings):
    """One training run: what is trained, on what, into where, and how."""

    kind: str
    """"sft", "dpo" or "grpo"."""
    data: str
    out: str
    model: str = "local"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"training kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.kind != "dpo" and self.sft_weight:
            raise InputError(f"sft_weight adds a supervised loss to DPO's; it does not apply to {self.kind.upper()} (drop it)")
        self.check()
        if self.generation not in ("auto", "transformers", "vllm"):
            raise InputError(f"generation must be auto, transformers or vllm, got {self.generation!r}")
        if self.kind != "grpo" and self.generation != "auto":
            raise InputError(f"generation picks what samples GRPO's answers; it does not apply to {self.kind.upper()}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise InputError(f"precision must be auto, fp32 or bf16, got {self.precision!r}")
        if self.precision == "bf16" and not _fast_bf16():
            raise InputError("precision bf16 needs a GPU with bf16 or a CPU with AMX or AVX512-BF16, which this machine "
                             "lacks (its bf16 products would run as a scalar loop, about 100x slower); use fp32 or auto")  # fmt: skip
        if self.generation == "vllm" and not _vllm_usable():
            raise InputError("generation vllm needs a CUDA GPU and the vllm package (pip install 'adhere[vllm]'); "
                             "on this machine use generation transformers (or auto)")  # fmt: skip
        if self.kind == "grpo":
            if self.num_generations < 2:
                raise InputError(f"GRPO compares each answer with the others of its group: num_generations must be at "
                                 f"least 2, got {self.num_generations}")  # fmt: skip
            if (self.batch_size * self.grad_accum) % self.num_generations:
                raise InputError(f"GRPO samples whole groups: batch_size x grad_accum ({self.batch_size * self.grad_accum}) "
                                 f"must be a multiple of num_generations ({self.num_generations})")  # fmt: skip

    @property
    def bf16(self) -> bool:
        """Whether training runs in bf16 mixed precision: asked for, or (auto) on a GPU that has it."""
        return self.precision == "bf16" or (self.precision == "auto" and _gpu_bf16())

    @property
    def use_vllm(self) -> bool:
        """Whether GRPO's answers are sampled by vLLM (TRL's colocated engine)."""
        return self.kind == "grpo" and (self.generation == "vllm" or (self.generation == "auto" and _vllm_usable()))

    @property
    def lr(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return {("sft", False): 2e-4, ("sft", True): 2e-5, ("dpo", False): 5e-5, ("dpo", True): 5e-7,
                ("grpo", False): 2e-5, ("grpo", True): 1e-6}[(self.kind, self.full)]  # fmt: skip

    def resumable_fields(self) -> dict[str, Any]:
        """What must match for a rerun to continue an existing run (not its length)."""
        data = dataclasses.asdict(self)
        for name in ("epochs", "max_steps", "save_steps", "logging_steps", "gradient_checkpointing", "generation"):
            data.pop(name)
        data["learning_rate"] = self.lr
        return data

    @property
    def checkpointing(self) -> bool:
        return _has_accelerator() if self.gradient_checkpointing is None else self.gradient_checkpointing


def _imports() -> Any:
    try:
        import peft  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
        import trl
    except ImportError as error:
        raise MissingExtraError(f"training needs {error.name}: {INSTALL_HINT}") from None
    return trl


def model_source(spec: str) -> tuple[dict[str, Any], str]:
    """``from_pretrained`` arguments for a model spec, and a description of it."""
    from adhere.models.base import parse_spec

    kind, arg = parse_spec(spec)
    if kind in ("local", "gguf"):
        from adhere.models.llamacpp import gguf_path

        path = gguf_path(spec, "training").resolve()
        return {"pretrained_model_name_or_path": str(path.parent), "gguf_file": path.name}, str(path)
    if kind == "hf":
        return {"pretrained_model_name_or_path": arg}, arg
    raise InputError(f"training needs weights on this machine: local, gguf:PATH or hf:PATH_OR_ID, got {spec!r}")


def load_model(spec: str) -> tuple[Any, Any]:
    """(model, tokenizer), trainable: fp32, the GGUF quantizer detached."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source, where = model_source(spec)
    try:
        tokenizer = AutoTokenizer.from_pretrained(**source)
        model = AutoModelForCausalLM.from_pretrained(**source, dtype=torch.float32)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot load {where} with transformers: {first_line(error)[:200]}") from None
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        # transformers refuses to train a model loaded through a quantizer; GGUF weights are
        # already dequantized to fp32, so the quantizer only has to be detached.
        quantizer.remove_quantization_config(model)
        model.config._is_quantized = False
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def save_model_folder(spec: str, folder: str | Path) -> Path:
    """Write a model spec's weights and tokenizer as an ordinary transformers model folder (a GGUF
    as dense fp32 weights), for runtimes that take a folder, such as vLLM."""
    model, tokenizer = load_model(spec)
    folder = Path(folder)
    tokenizer.save_pretrained(folder)
    model.save_pretrained(folder)
    return folder


def _log_callback(path: Path, resumed_step: int) -> Any:
    from transformers import TrainerCallback

    # A resumed run repeats the steps after its checkpoint: their old rows go.
    if path.exists():
        rows = [line for line in split_lines(path.read_text(encoding="utf-8"))
                if json.loads(line).get("step", 0) <= resumed_step]  # fmt: skip
        path.write_text("".join(f"{line}\n" for line in rows), encoding="utf-8")

    class JsonlLog(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
            if state.is_world_process_zero and logs:
                row = {"step": state.global_step, "epoch": state.epoch, "time": round(time.time(), 3), **logs}
                with path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(row) + "\n")

    return JsonlLog()


def train(config: TrainConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Train (resuming from the last checkpoint in ``config.out``); returns the result summary.
    One process at a time trains into a folder: a second is refused at once. ``progress`` is told
    of every step (see :data:`Progress`)."""
    trl = _imports()
    rows = load_rows(config.data, config.kind)
    with locked(config.out, "training"):
        return _train(config, trl, rows, progress)


class StepFile:
    """A :data:`Progress` that writes ``{"step", "total", "loss", "start", "seconds"}`` to a JSON
    file (atomically; ``start``: the step this run started from, a resumed run's checkpoint;
    ``seconds``: since then): how a training run in another process shows its steps (``adhere
    loop`` reads it)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.start: tuple[int, float] | None = None

    def __call__(self, step: int, total: int, loss: float | None) -> None:
        if self.start is None:
            self.start = (step, time.monotonic())
        write_json(self.path, {"step": step, "total": total, "loss": loss, "start": self.start[0],
                               "seconds": round(time.monotonic() - self.start[1], 3)})  # fmt: skip


def _progress_callback(progress: Progress) -> Any:
    from transformers import TrainerCallback

    class Steps(TrainerCallback):
        loss: float | None = None

        def on_train_begin(self, args, state, control, **kwargs):  # noqa: ANN001
            progress(state.global_step, state.max_steps, None)

        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
            if logs and "loss" in logs:
                self.loss = float(logs["loss"])

        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
            progress(state.global_step, state.max_steps, self.loss)

    return Steps()


def _checkpointing_name() -> str:
    """The training argument for activation checkpointing in this transformers:
    ``activation_checkpointing`` (5.x; ``gradient_checkpointing`` is its deprecated alias, to be
    removed in 6), else the old one."""
    from transformers import TrainingArguments

    names = {field.name for field in dataclasses.fields(TrainingArguments)}
    return "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"


def _train(config: TrainConfig, trl: Any, rows: list[dict[str, Any]], progress: Progress | None = None) -> dict[str, Any]:
    out = Path(config.out)
    saved = out / "train_config.json"
    refuse_foreign(out, saved.name, "adhere training run")
    if saved.exists():
        now = config.resumable_fields()
        before = {k: v for k, v in json.loads(saved.read_text(encoding="utf-8")).items() if k in now}
        refuse_changed(out, "a training run", before, now,
                       defaults={f.name: f.default for f in dataclasses.fields(TrainConfig)})  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    write_json(saved, {**dataclasses.asdict(config), **config.resumable_fields()})
    found = last_checkpoint(out)
    checkpoint = str(found) if found else None
    resumed_step = int(found.name.rsplit("-", 1)[1]) if found else 0

    import datasets

    model, tokenizer = load_model(config.model)
    peft_config = None
    if not config.full:
        from peft import LoraConfig

        peft_config = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                                 target_modules="all-linear", task_type="CAUSAL_LM")  # fmt: skip
    common = dict(
        output_dir=str(out), num_train_epochs=config.epochs, max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size, gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.lr, lr_scheduler_type="cosine", warmup_steps=0.05, logging_steps=config.logging_steps,
        save_steps=config.save_steps, save_total_limit=2, seed=config.seed, report_to=[], max_length=config.max_length,
        use_cpu=not _has_accelerator(), dataloader_num_workers=0, bf16=config.bf16, fp16=False,
        **{_checkpointing_name(): config.checkpointing},
    )  # fmt: skip
    dataset = datasets.Dataset.from_list(rows)
    callback = [_log_callback(out / "log.jsonl", resumed_step)]
    if progress is not None:
        callback.append(_progress_callback(progress))
    if config.kind == "sft":
        args = trl.SFTConfig(**common, completion_only_loss=True)
        trainer = trl.SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                                 peft_config=peft_config, callbacks=callback)  # fmt: skip
    elif config.kind == "grpo":
        from adhere.train.rewards import REWARDS

        common.pop("max_length")  # GRPO bounds the sampled answers instead
        sampling = {"use_vllm": True, "vllm_mode": "colocate"} if config.use_vllm else {}
        args = trl.GRPOConfig(**common, num_generations=config.num_generations, temperature=config.temperature,
                              max_completion_length=config.max_completion_length, **sampling)  # fmt: skip
        trainer = trl.GRPOTrainer(model=model, reward_funcs=[REWARDS[config.reward]], args=args, train_dataset=dataset,
                                  processing_class=tokenizer, peft_config=peft_config, callbacks=callback)  # fmt: skip
    else:
        losses = dict(loss_type=["sigmoid", "sft"], loss_weights=[1.0, config.sft_weight]) if config.sft_weight else {}
        args = trl.DPOConfig(**common, beta=config.beta, **losses)
        trainer = trl.DPOTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                                 peft_config=peft_config, callbacks=callback)  # fmt: skip
    fitted = _fitted(config, trainer, len(rows)) if config.kind == "sft" else {}
    started = time.monotonic()
    with warnings.catch_warnings():
        # PEFT looks for a config.json beside the base model at every save, to tell whether the
        # vocabulary was resized; a GGUF's folder has none, and the vocabulary is never resized here.
        warnings.filterwarnings("ignore", message="Could not find a config file in", category=UserWarning)
        output = trainer.train(resume_from_checkpoint=checkpoint)
        final = out / "final"
        trainer.save_model(str(final))
    tokenizer.save_pretrained(str(final))
    result = {
        "kind": config.kind, "model": config.model, "rows": len(rows), "steps": trainer.state.global_step,
        "resumed_from_step": resumed_step, "train_loss": output.training_loss, "seconds_this_run": round(time.monotonic() - started, 1),
        "adapter": not config.full, "precision": "bf16 mixed" if args.bf16 else "fp32", "final": str(final),
        "gradient_checkpointing": bool(getattr(args, _checkpointing_name())),
        **fitted,
        **({"generation": "vllm" if config.use_vllm else "transformers"} if config.kind == "grpo" else {}),
    }  # fmt: skip
    write_json(out / "result.json", result)
    return result


def _fitted(config: TrainConfig, trainer: Any, rows: int) -> dict[str, int]:
    """How SFT's rows fit ``max_length``, from TRL's prepared rows: TRL cuts a longer row at the
    end and silently leaves out one whose prompt alone fills the length (nothing of its answer is
    left to learn from). None left is an error; the counts go into the result."""
    prepared = trainer.train_dataset
    if not len(prepared):
        raise InputError(f"{config.data}: none of its {rows} rows fits max_length {config.max_length}: each prompt "
                         "alone fills it, leaving no answer to train on; raise max_length")  # fmt: skip
    cut = sum(len(ids) >= config.max_length for ids in prepared["input_ids"])
    return {"rows_trained": len(prepared), "rows_cut_at_max_length": cut}


def rows_not_fitting(result: dict[str, Any]) -> tuple[int, int]:
    """``(left out, cut)``: of a training result's rows, how many did not fit ``max_length``
    (0, 0 for a result that does not count them: DPO, GRPO, or written before they were counted)."""
    return result["rows"] - result.get("rows_trained", result["rows"]), result.get("rows_cut_at_max_length", 0)


def last_checkpoint(out: Path) -> Path | None:
    """The newest complete checkpoint in ``out``. TRL writes ``trainer_state.json`` last, so a
    checkpoint without it is a save cut short (killed, out of memory or disk): it is removed and
    its steps are trained again from the checkpoint before."""
    import shutil

    steps = {}
    for folder in out.glob("checkpoint-*"):
        step = folder.name.rsplit("-", 1)[1]
        if folder.is_dir() and step.isdigit():
            steps[int(step)] = folder
    for step in sorted(steps, reverse=True):
        if _complete(steps[step] / "trainer_state.json"):
            return steps[step]
        shutil.rmtree(steps[step])
    return None


def _complete(state: Path) -> bool:
    # transformers writes trainer_state.json in place, not atomically: a kill while it is being
    # written leaves a cut-off file, which would make the resumed run fail to read it.
    try:
        return isinstance(json.loads(state.read_text(encoding="utf-8")), dict)
    except (OSError, ValueError):
        return False


def _gpu_bf16() -> bool:
    """A GPU with bf16: where ``precision = "auto"`` trains in bf16 mixed precision. Not a CPU,
    even one with AMX: the default recipe was measured in fp32 there (``precision = "bf16"`` asks)."""
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def _fast_bf16() -> bool:
    """Whether bf16 matrix products are fast here: a GPU with bf16, or a CPU with AMX or
    AVX512-BF16. Without them torch's bf16 products on a CPU fall back to a scalar loop: a LoRA
    step measured 200 s instead of a few seconds in fp32 (an AVX2 machine). With AMX, a matrix
    product of the bundled model's shapes ran 6.5x as fast in bf16 as in fp32 (2 cores)."""
    import torch

    if _gpu_bf16():
        return True
    if _has_accelerator():
        return False
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(cpu, name, lambda: False)() for name in checks)


def _has_accelerator() -> bool:
    import torch

    return torch.cuda.is_available() or (hasattr(torch.backends, "mps") and torch.backends.mps.is_available())


def _vllm_usable() -> bool:
    """A CUDA GPU and the vllm package, both there (found without importing vLLM)."""
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        return False
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()
