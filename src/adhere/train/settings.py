"""Training hyperparameters, declared once: ``adhere train`` makes its flags from them, a recipe's
``train`` stage takes them as keys, and :class:`adhere.train.trainer.TrainConfig` adds what is
trained, on what, and where."""

from __future__ import annotations

import dataclasses
from typing import Any

from adhere.errors import InputError
from adhere.settings import setting


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainSettings:
    """How a model is trained: every hyperparameter, declared once for ``adhere train`` (its flags
    are made from these fields) and a recipe's ``train`` stage."""

    epochs: float = setting(1.0, "passes over the rows")
    max_steps: int = setting(-1, "stop after this many optimizer steps (-1: run the epochs)")
    learning_rate: float | None = setting(None, "default: 2e-4 (LoRA SFT), 5e-5 (LoRA DPO), 2e-5 / 5e-7 (full)")
    batch_size: int = setting(4, "rows per step")
    grad_accum: int = setting(1, "steps accumulated per optimizer step")
    max_length: int = setting(1024, "tokens per row, prompt and answer (longer ones are cut)")
    full: bool = setting(False, "train every weight instead of a LoRA adapter")
    lora_r: int = setting(16, "LoRA rank")
    lora_alpha: int = setting(32, "LoRA alpha")
    lora_dropout: float = setting(0.05, "LoRA dropout")
    beta: float = setting(0.1, "DPO's beta")
    sft_weight: float = setting(0.0, "DPO only: weight of a supervised loss on the chosen answer added to DPO's "
                                "(RPO), so that DPO cannot gain by making both answers unlikely; 0: plain DPO")  # fmt: skip
    reward: str = setting("strict", "GRPO's reward, from the verifiers: strict (fraction of a prompt's instructions "
                          "followed), loose (the same, IFEval's loose mode) or all (1 when every one is, else 0)",
                          choices=("strict", "loose", "all"))  # fmt: skip
    num_generations: int = setting(4, "GRPO: answers sampled per prompt, the group each is compared with")
    max_completion_length: int = setting(256, "GRPO: most tokens per sampled answer")
    temperature: float = setting(1.0, "GRPO: sampling temperature of the answers")
    generation: str = setting("auto", "GRPO: what samples the answers while training: transformers, vllm (TRL's, in "
                              "this process, on a CUDA GPU) or auto (vllm where a CUDA GPU and vLLM are there)",
                              choices=("auto", "transformers", "vllm"))  # fmt: skip
    precision: str = setting("auto", "fp32, or bf16 mixed precision (bf16 matrix products, fp32 weights); auto: bf16 on a "
                             "GPU that has it, else fp32. A CPU needs AMX or AVX512-BF16 for bf16 (with AMX a LoRA "
                             "SFT step ran 1.23x as fast)", choices=("auto", "fp32", "bf16"))  # fmt: skip
    save_steps: int = setting(50, "checkpoint every this many steps (a killed run resumes from the last)")
    logging_steps: int = setting(5, "log the loss every this many steps")
    seed: int = setting(0, "training seed")
    # On this project's 2-core CPU, turning it off made LoRA SFT steps 1.10x to 1.22x as fast but
    # DPO steps 0.91x (benchmarks/train_speed.py, 3 steps each, noisy), and a DPO run at 768
    # tokens used about 9 GB; the CPU default is to be settled by longer runs.
    gradient_checkpointing: bool | None = setting(None, "recompute activations to save memory (default: on a GPU only)")

    def check(self) -> None:
        checks = {
            "epochs": self.epochs > 0, "batch_size": self.batch_size >= 1, "grad_accum": self.grad_accum >= 1,
            "max_length": self.max_length >= 16, "lora_r": self.lora_r >= 1, "save_steps": self.save_steps >= 1,
            "logging_steps": self.logging_steps >= 1, "max_steps": self.max_steps == -1 or self.max_steps >= 1,
            "beta": self.beta > 0, "learning_rate": self.learning_rate is None or self.learning_rate > 0,
            "sft_weight": self.sft_weight >= 0, "lora_dropout": 0 <= self.lora_dropout < 1,
            "max_completion_length": self.max_completion_length >= 1, "temperature": self.temperature > 0,
        }  # fmt: skip
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise InputError(f"bad training setting {bad[0]}: {getattr(self, bad[0])!r}")

    def settings(self) -> dict[str, Any]:
        """The hyperparameters alone, for a :class:`TrainConfig`."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(TrainSettings)}
