"""The verifiers as TRL reward functions: the reference's verdicts, through a real Arrow dataset."""

from __future__ import annotations

import functools

import pytest

from adhere.errors import InputError
from adhere.train.rewards import instruction_following_reward
from tests.bench.test_ifeval_conformance import RANDOM_IN_REFERENCE
from tests.conftest import IFEVAL, read_jsonl


@pytest.mark.parametrize("mode", ["strict", "loose"])
def test_rewards_are_the_reference_fractions_through_arrow_padding(mode):
    import datasets

    inputs = {r["key"]: r for r in read_jsonl(IFEVAL / "input_data.jsonl")}
    responses = {r["prompt"]: r["response"] for r in read_jsonl(IFEVAL / "input_response_data_gpt4_20231107_145030.jsonl")}
    # Keys 1122 and 1129 are random in the reference (it redraws a '#'/'!' letter); adhere counts the literal one.
    expected = [e for e in read_jsonl(IFEVAL / "expected" / f"gpt4_seed51_{mode}.jsonl")[:150]
                if e["key"] not in RANDOM_IN_REFERENCE]  # fmt: skip
    rows = [inputs[e["key"]] for e in expected]
    table = datasets.Dataset.from_list([{"prompt": r["prompt"], "instruction_id_list": r["instruction_id_list"],
                                         "kwargs": r["kwargs"]} for r in rows])  # fmt: skip
    # Arrow gives every row's kwargs one struct type, padding absent keys with None.
    assert any(None in kw.values() for row in table["kwargs"] for kw in row)
    completions = [[{"role": "assistant", "content": responses[p]}] for p in table["prompt"]]
    reward = functools.partial(instruction_following_reward, loose=mode == "loose")
    got = reward(table["prompt"], completions, instruction_id_list=table["instruction_id_list"], kwargs=table["kwargs"])
    want = [sum(e["follow_instruction_list"]) / len(e["follow_instruction_list"]) for e in expected]
    assert got == pytest.approx(want)
    assert 0 < sum(got) / len(got) < 1
    # Plain-text completions are judged the same.
    assert reward(table["prompt"], [c[0]["content"] for c in completions], instruction_id_list=table["instruction_id_list"],
                  kwargs=table["kwargs"]) == got  # fmt: skip


def test_missing_columns_and_bad_completions_are_one_clear_error():
    with pytest.raises(InputError, match="instruction_id_list"):
        instruction_following_reward(["p"], ["c"])
    with pytest.raises(InputError, match="text or chat messages"):
        instruction_following_reward(["p"], [3], instruction_id_list=[["punctuation:no_comma"]], kwargs=[[{}]])


def test_the_reward_drives_trl_grpo(tmp_path):
    # One real GRPO step: the dataset's constraint columns reach the reward through TRL's pipeline,
    # and what TRL logs is what the reward returned for the completions it sampled.
    import datasets
    import trl

    from adhere.train.rewards import loose_instruction_following_reward
    from adhere.train.trainer import load_model

    calls = []

    def recorded_reward(prompts, completions, **columns):
        rewards = instruction_following_reward(prompts, completions, **columns)
        calls.append((completions, columns["instruction_id_list"], rewards))
        return rewards

    model, tokenizer = load_model("local")
    rows = [{"prompt": [{"role": "user", "content": f"Say hello to {name}. Do not use the word zeppelin."}],
             "instruction_id_list": ["keywords:forbidden_words"], "kwargs": [{"forbidden_words": ["zeppelin"]}]}
            for name in ("Ann", "Bob")]  # fmt: skip
    args = trl.GRPOConfig(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=2, num_generations=2,
                          max_completion_length=6, logging_steps=1, report_to=[], use_cpu=True, save_strategy="no")  # fmt: skip
    trainer = trl.GRPOTrainer(model=model, reward_funcs=[recorded_reward, loose_instruction_following_reward],
                              args=args, train_dataset=datasets.Dataset.from_list(rows), processing_class=tokenizer)  # fmt: skip
    trainer.train()
    (completions, ids, rewards), = calls
    assert ids == [["keywords:forbidden_words"]] * len(completions)
    texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
    assert rewards == [0.0 if "zeppelin" in t.lower() else 1.0 for t in texts]
    logged = trainer.state.log_history[0]
    assert logged["rewards/recorded_reward/mean"] == pytest.approx(sum(rewards) / len(rewards))
    assert "rewards/loose_instruction_following_reward/mean" in logged
