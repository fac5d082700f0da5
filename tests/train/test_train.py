"""`adhere train`: rows checked before loading a model, real LoRA SFT and DPO steps, resume."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from adhere.errors import InputError
from adhere.train.data import load_rows
from adhere.train.trainer import TrainConfig, train
from tests.conftest import read_jsonl, write_jsonl

WORDS = ["river", "garden", "window", "morning", "signal", "balance", "journey", "harbor"]


def user(text):
    return [{"role": "user", "content": text}]


def assistant(text):
    return [{"role": "assistant", "content": text}]


def sft_rows():
    return [{"messages": user(f"Write the word {w} in capitals.") + assistant(w.upper()), "provenance": {"key": i}}
            for i, w in enumerate(WORDS)]  # fmt: skip


def dpo_rows():
    return [{"prompt": user(f"Write the word {w} in capitals."), "chosen": assistant(w.upper()),
             "rejected": assistant(w)} for w in WORDS[:4]]  # fmt: skip


def test_rows_become_prompt_completion_and_extra_fields_go(tmp_path):
    rows = load_rows(write_jsonl(tmp_path / "s.jsonl", sft_rows()), "sft")
    assert rows[0] == {"prompt": user("Write the word river in capitals."), "completion": assistant("RIVER")}
    pairs = load_rows(write_jsonl(tmp_path / "p.jsonl", [{"prompt": "Hi?", "chosen": "Hello", "rejected": "Go"}]), "dpo")
    assert pairs == [{"prompt": user("Hi?"), "chosen": assistant("Hello"), "rejected": assistant("Go")}]


@pytest.mark.parametrize(
    ("kind", "row", "message"),
    [
        ("sft", {"text": "hi"}, "an SFT row needs 'messages'"),
        ("sft", {"messages": user("hi")}, "must end with a assistant message"),
        ("sft", {"messages": assistant("hi")}, "needs a user turn"),
        ("sft", {"messages": [{"role": "user", "content": 3}, *assistant("x")]}, "message 0 needs a role"),
        ("dpo", {"prompt": "hi", "chosen": "a"}, "missing rejected"),
        ("dpo", {"prompt": "hi", "chosen": "a", "rejected": "a"}, "are the same answer"),
        ("dpo", {"prompt": [], "chosen": "a", "rejected": "b"}, "'prompt' must be a non-empty list"),
    ],
)
def test_bad_rows_name_their_line(tmp_path, kind, row, message):
    path = write_jsonl(tmp_path / "d.jsonl", [sft_rows()[0] if kind == "sft" else dpo_rows()[0], row])
    with pytest.raises(InputError, match=message) as error:
        load_rows(path, kind)
    assert f"{path}:2:" in str(error.value)


def test_bad_settings():
    with pytest.raises(InputError, match="bad training setting batch_size: 0"):
        TrainConfig(kind="sft", data="x", out="y", batch_size=0)
    with pytest.raises(InputError, match="training kind must be one of sft, dpo, grpo, got .ppo."):
        TrainConfig(kind="ppo", data="x", out="y")
    with pytest.raises(InputError, match="sft_weight adds a supervised loss to DPO's; it does not apply to SFT"):
        TrainConfig(kind="sft", data="x", out="y", sft_weight=0.5)
    with pytest.raises(InputError, match="sft_weight: -1.0"):
        TrainConfig(kind="dpo", data="x", out="y", sft_weight=-1.0)


def test_lora_sft_trains_logs_and_resumes(tmp_path):
    data = write_jsonl(tmp_path / "sft.jsonl", sft_rows())
    config = dict(kind="sft", data=str(data), out=str(tmp_path / "run"), batch_size=2, save_steps=1,
                  logging_steps=1, max_length=64)  # fmt: skip
    import torch

    first = train(TrainConfig(**config, max_steps=2))
    assert first["steps"] == 2 and first["resumed_from_step"] == 0 and first["adapter"]
    if not torch.cuda.is_available():  # TRL's bf16 default is off on a CPU (its bf16 products crawl there)
        assert first["precision"] == "fp32"
        assert first["gradient_checkpointing"] is False  # TRL's default is on; it costs a third of a CPU step
    log = read_jsonl(tmp_path / "run" / "log.jsonl")
    losses = [row["loss"] for row in log if "loss" in row]
    assert len(losses) == 2 and all(loss > 0 for loss in losses)
    assert (tmp_path / "run" / "final" / "adapter_model.safetensors").exists()
    # The same run, longer: it continues from checkpoint-2 instead of starting over.
    # A run written before a setting existed resumes as if it had its default.
    saved = json.loads((tmp_path / "run" / "train_config.json").read_text())
    del saved["sft_weight"]
    (tmp_path / "run" / "train_config.json").write_text(json.dumps(saved))
    # Checkpointing activations changes memory and speed, not the result: a resume may switch it.
    second = train(TrainConfig(**config, max_steps=3, gradient_checkpointing=True))
    assert second["resumed_from_step"] == 2 and second["steps"] == 3 and second["gradient_checkpointing"] is True
    steps = [row["step"] for row in read_jsonl(tmp_path / "run" / "log.jsonl") if "loss" in row]
    assert steps == [1, 2, 3]
    with pytest.raises(InputError, match="other settings \\(lora_r\\)"):
        train(TrainConfig(**{**config, "lora_r": 4}, max_steps=3))


def test_sft_rows_longer_than_max_length_are_counted_and_none_left_is_one_line(tmp_path):
    from adhere.cli import fit_note

    long_prompt = "Write the word river in capitals. " + "Please take care. " * 40  # about 160 tokens
    rows = [*sft_rows()[:3], {"messages": user(long_prompt) + assistant("RIVER")},
            {"messages": user("Spell out a long answer.") + assistant("word " * 200)}]  # fmt: skip
    data = write_jsonl(tmp_path / "sft.jsonl", rows)
    result = train(TrainConfig(kind="sft", data=str(data), out=str(tmp_path / "run"), max_steps=1, max_length=100,
                               save_steps=10))  # fmt: skip
    # TRL leaves out the row whose prompt fills max_length and cuts the one whose answer runs past it.
    assert result["rows"] == 5 and result["rows_trained"] == 4 and result["rows_cut_at_max_length"] == 1

    only_long = write_jsonl(tmp_path / "long.jsonl", [rows[3]])
    with pytest.raises(InputError, match=r"long.jsonl: none of its 1 rows fits max_length 100: each prompt alone fills "
                                         r"it, leaving no answer to train on; raise max_length"):  # fmt: skip
        train(TrainConfig(kind="sft", data=str(only_long), out=str(tmp_path / "none"), max_steps=1, max_length=100))

    # What `adhere train` warns.
    assert fit_note(result) == ("1 of 5 rows left out (the prompt alone fills max_length); 1 cut at max_length (their "
                                "answers' ends not learnt); raise max_length to keep them whole")  # fmt: skip
    assert fit_note({"rows": 5, "rows_trained": 5, "rows_cut_at_max_length": 0}) == ""


def test_lora_dpo_logs_rewards(tmp_path):
    import torch

    data = write_jsonl(tmp_path / "pairs.jsonl", dpo_rows())
    result = train(TrainConfig(kind="dpo", data=str(data), out=str(tmp_path / "run"), batch_size=2, max_steps=1,
                               logging_steps=1, max_length=64))  # fmt: skip
    assert result["steps"] == 1
    if not torch.cuda.is_available():
        assert result["precision"] == "fp32"
    logged = [row for row in read_jsonl(tmp_path / "run" / "log.jsonl") if "loss" in row]
    assert logged and any(key.startswith("rewards/") for key in logged[0])


def test_dpo_with_a_supervised_loss_on_the_chosen_answer(tmp_path):
    """RPO: at the first step the policy is the reference, so plain DPO's loss is ln 2; the added
    supervised loss is the chosen answer's negative log-likelihood, weighted."""
    data = write_jsonl(tmp_path / "pairs.jsonl", dpo_rows())
    losses = {}
    for weight in (0.0, 1.0):
        result = train(TrainConfig(kind="dpo", data=str(data), out=str(tmp_path / f"run-{weight}"), batch_size=2,
                                   max_steps=1, logging_steps=1, max_length=64, sft_weight=weight))  # fmt: skip
        losses[weight] = result["train_loss"]
    assert losses[0.0] == pytest.approx(0.6931, abs=1e-3)
    assert losses[1.0] > losses[0.0] + 0.5  # a 135M model's NLL per token on short answers is well above 0.5


def test_cli_refuses_a_bad_row_before_loading_anything(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps(sft_rows()[0]) + "\n" + json.dumps({"prompt": "x"}) + "\n")
    result = subprocess.run([sys.executable, "-m", "adhere.cli", "train", "sft", str(data), "--out-dir", str(tmp_path / "o")],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 2 and f"{data}:2:" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def grpo_prompts():
    return [{"key": i, "prompt": f"Say hello to {name}. Do not use the word zeppelin.",
             "instruction_id_list": ["keywords:forbidden_words"], "kwargs": [{"forbidden_words": ["zeppelin"]}]}
            for i, name in enumerate(("Ann", "Bob", "Cid", "Dee"))]  # fmt: skip


def test_grpo_trains_on_verifiable_prompts_with_the_verifiers_as_reward(tmp_path):
    data = write_jsonl(tmp_path / "prompts.jsonl", grpo_prompts())
    rows = load_rows(data, "grpo")
    assert rows[0] == {"prompt": user("Say hello to Ann. Do not use the word zeppelin."),
                       "instruction_id_list": ["keywords:forbidden_words"], "kwargs": [{"forbidden_words": ["zeppelin"]}]}
    out = tmp_path / "run"
    result = train(TrainConfig(kind="grpo", data=str(data), out=str(out), batch_size=2, num_generations=2, max_steps=1,
                               max_completion_length=8, logging_steps=1, reward="all"))  # fmt: skip
    assert result["kind"] == "grpo" and result["steps"] == 1 and (out / "final" / "adapter_config.json").exists()
    assert result["generation"] == "transformers"  # auto, on a machine without a GPU
    logged = [row for row in read_jsonl(out / "log.jsonl") if "rewards/all_instructions_reward/mean" in row]
    assert logged and 0.0 <= logged[0]["rewards/all_instructions_reward/mean"] <= 1.0


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"num_generations": 1}, "num_generations must be at least 2"),
        ({"num_generations": 3, "batch_size": 4}, r"batch_size x grad_accum \(4\) must be a multiple of num_generations \(3\)"),
        ({"sft_weight": 1.0}, "does not apply to GRPO"),
        # this machine has no CUDA GPU: vLLM sampling is refused before any work
        ({"generation": "vllm"}, "generation vllm needs a CUDA GPU and the vllm package"),
        ({"generation": "nope"}, "generation must be auto, transformers or vllm"),
    ],
)
def test_grpo_settings_it_cannot_honour_are_one_line(settings, message):
    with pytest.raises(InputError, match=message):
        TrainConfig(kind="grpo", data="x", out="y", **settings)


def test_generation_is_grpos_setting():
    with pytest.raises(InputError, match="does not apply to SFT"):
        TrainConfig(kind="sft", data="x", out="y", generation="transformers")


def test_grpo_rows_need_their_instructions(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [grpo_prompts()[0], {"prompt": "Hi", "instruction_id_list": [], "kwargs": []}])
    with pytest.raises(InputError, match=f"{path}:2: no instructions to reward"):
        load_rows(path, "grpo")
    result = subprocess.run([sys.executable, "-m", "adhere.cli", "train", "grpo", str(path), "--out-dir", str(tmp_path / "o"),
                             "--reward", "most"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 2 and "invalid choice: 'most'" in result.stderr


def test_precision_is_fp32_on_a_cpu_unless_bf16_is_asked_for_where_it_is_fast(monkeypatch):
    from adhere.train import trainer

    # auto: fp32 on a CPU, AMX or not (the default recipe was measured so); bf16 on a GPU with it
    assert not TrainConfig(kind="sft", data="x", out="y").bf16
    monkeypatch.setattr(trainer, "_fast_bf16", lambda: True)
    assert TrainConfig(kind="sft", data="x", out="y", precision="bf16").bf16
    assert not TrainConfig(kind="sft", data="x", out="y", precision="fp32").bf16
    monkeypatch.setattr(trainer, "_gpu_bf16", lambda: True)
    assert TrainConfig(kind="sft", data="x", out="y").bf16
    # a CPU without AMX or AVX512-BF16 would run bf16 as a scalar loop: one line before any work
    monkeypatch.setattr(trainer, "_fast_bf16", lambda: False)
    with pytest.raises(InputError, match="precision bf16 needs a GPU with bf16 or a CPU with AMX or AVX512-BF16"):
        TrainConfig(kind="sft", data="x", out="y", precision="bf16")
    with pytest.raises(InputError, match="precision must be auto, fp32 or bf16, got 'fp16'"):
        TrainConfig(kind="dpo", data="x", out="y", precision="fp16")
