"""Reasoning models: the answer is scored, the reasoning kept apart; hosted-API request fields."""

from __future__ import annotations

import json

import pytest

from adhere.errors import InputError
from adhere.models.base import ModelCallError, load_backend
from adhere.models.config import GenerationConfig
from adhere.models.reasoning import ReasoningSettings, read_answer
from tests.bench.test_failures import adhere, prompts_file
from tests.conftest import read_jsonl
from tests.models.test_openai_backend import FaultServer, complete, server  # noqa: F401 (fixture)

TRACE = "<think>\nOkay, the user wants no commas, so: no commas, none, at all.\n</think>\n\n"


@pytest.mark.parametrize(
    ("text", "field", "answer", "reasoning", "unfinished"),
    [
        (TRACE + "Hi there", None, "Hi there", "Okay, the user wants no commas, so: no commas, none, at all.", False),
        ("Plain answer, with a comma.", None, "Plain answer, with a comma.", None, False),
        ("<think>still thinking, and", None, "", "still thinking, and", True),  # cut off inside the reasoning
        ("  <think>\n</think>Short", None, "Short", None, False),  # an empty reasoning block
        ("no opening tag</think> answer", None, "answer", "no opening tag", False),  # Qwen3's template opens it
        ("Hi there", "I should greet, briefly.", "Hi there", "I should greet, briefly.", False),  # server's field
        ("", "I was cut off while", "", "I was cut off while", True),
        ("a</think>b</think>c", None, "c", "a</think>b", False),  # the last marker ends the reasoning
    ],
)
def test_the_answer_is_read_after_the_reasoning(text, field, answer, reasoning, unfinished):
    got = read_answer(text, field)
    assert (got.text, got.reasoning, got.unfinished) == (answer, reasoning, unfinished)


def test_keep_scores_the_whole_text_and_other_markers_work():
    keep = read_answer(TRACE + "Hi", "field", ReasoningSettings("keep"))
    assert (keep.text, keep.reasoning, keep.unfinished) == (TRACE + "Hi", "field", False)
    other = ReasoningSettings(think_end="◁/think▷")
    assert read_answer("◁think▷hmm, yes◁/think▷Done", settings=other).text == "Done"
    assert ReasoningSettings(think_end="[END]").think_start is None
    with pytest.raises(InputError, match="strip or keep"):
        ReasoningSettings("drop")
    with pytest.raises(InputError, match="non-empty marker"):
        ReasoningSettings(think_end=" ")


def test_hosted_api_fields_and_extra_body_reach_the_request(server):  # noqa: F811
    s = server([{"status": 200}])
    backend = load_backend("openai:fake", base_url=s.url, max_tokens_field="max_completion_tokens", sampling=False,
                           extra_body={"chat_template_kwargs": {"enable_thinking": False}, "reasoning_effort": "low"})
    complete(backend, GenerationConfig(max_tokens=9, temperature=0.7))
    (request,) = s.requests()
    body = request["body"]
    assert body["max_completion_tokens"] == 9 and "max_tokens" not in body
    assert "temperature" not in body and "top_p" not in body
    assert body["chat_template_kwargs"] == {"enable_thinking": False} and body["reasoning_effort"] == "low"
    identity = backend.identity()  # what changes the answers is part of the cache key
    assert identity["sampling"] is False and identity["extra_body"]["reasoning_effort"] == "low"
    plain = load_backend("openai:fake", base_url=s.url).identity()
    assert set(plain) == {"backend", "model", "base_url"}  # earlier cache keys stay as they were
    with pytest.raises(InputError, match="extra_body may not set max_tokens"):
        load_backend("openai:fake", base_url=s.url, extra_body={"max_tokens": 3})


def test_a_refused_field_says_which_option_to_pass(server):  # noqa: F811
    s = server([{"status": 400, "message": "'max_tokens' is not supported with this model. Use "
                 "'max_completion_tokens' instead."}])  # fmt: skip
    with pytest.raises(ModelCallError, match="pass -M max_tokens_field=max_completion_tokens"):
        complete(load_backend("openai:fake", base_url=s.url))
    s.set_actions([{"status": 400, "message": "Unsupported value: 'temperature' does not support 0 with this model."}])
    with pytest.raises(ModelCallError, match="pass -M sampling=false"):
        complete(load_backend("openai:fake", base_url=s.url))


def test_the_servers_reasoning_field_is_read(server):  # noqa: F811
    answer = {"choices": [{"message": {"role": "assistant", "content": "Hi", "reasoning_content": "think, think"},
                           "finish_reason": "stop"}], "usage": {"prompt_tokens": 3, "completion_tokens": 4}}  # fmt: skip
    s = server([{"raw": json.dumps(answer)}])
    got = complete(load_backend("openai:fake", base_url=s.url))
    assert (got.text, got.reasoning) == ("Hi", "think, think")
    answer["choices"][0]["message"] = {"content": "Hi", "reasoning": "Ollama's name for it"}
    s.set_actions([{"raw": json.dumps(answer)}])
    assert complete(load_backend("openai:fake", base_url=s.url)).reasoning == "Ollama's name for it"


def _reply(content: str, finish: str = "stop") -> str:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": finish}],
                       "usage": {"prompt_tokens": 3, "completion_tokens": 40}})  # fmt: skip


def test_eval_scores_the_answer_and_keeps_the_reasoning_apart(tmp_path):
    """A reasoning-shaped answer (commas inside <think>, none after) to IFEval's first prompts (key
    1000 asks for no commas): stripped, no_comma passes; kept, it fails."""
    prompts = prompts_file(tmp_path, 3)
    answer = TRACE + "A short answer without a single comma"
    fake = FaultServer(tmp_path, [{"raw": _reply(answer)}])
    env = {"ADHERE_CACHE_DIR": str(tmp_path / "cache")}
    try:
        common = ("eval", "ifeval", "--model", "openai:m", "-M", f"base_url={fake.url}", "--data", prompts)
        strip = adhere(*common, "--out-dir", tmp_path / "strip", env=env)
        assert strip.returncode == 0, strip.stderr
        rows = read_jsonl(tmp_path / "strip" / "responses.jsonl")
        assert {r["response"] for r in rows} == {"A short answer without a single comma"}
        assert all(r["raw_response"] == answer and "no commas, none" in r["reasoning"] for r in rows)
        config = json.loads((tmp_path / "strip" / "config.json").read_text())
        assert config["reading"] == {"reasoning": "strip", "think_end": "</think>"}
        keep = adhere(*common, "--out-dir", tmp_path / "keep", "--reasoning", "keep", env=env)
        assert keep.returncode == 0, keep.stderr
        assert len(fake.requests()) == 3  # the second run's answers came from the cache: only the reading differs
        verdicts = {}
        for name in ("strip", "keep"):
            for row in read_jsonl(tmp_path / name / "verdicts.jsonl"):
                for cid, followed in zip(row["instruction_id_list"], row["strict"]["follow_instruction_list"]):
                    verdicts.setdefault((name, cid), []).append(followed)
        assert verdicts[("strip", "punctuation:no_comma")] == [True] * len(verdicts[("strip", "punctuation:no_comma")])
        assert not any(verdicts[("keep", "punctuation:no_comma")])
        # Resuming the strip run with other settings is refused; with the same, it resumes.
        again = adhere(*common, "--out-dir", tmp_path / "strip", "--reasoning", "keep", env=env)
        assert again.returncode == 2 and "reading" in again.stderr
        bad = adhere(*common, "--out-dir", tmp_path / "bad", "--reasoning", "drop", env=env)
        assert bad.returncode == 2 and "invalid choice: 'drop'" in bad.stderr and not (tmp_path / "bad").exists()
    finally:
        fake.kill()


def test_an_answer_cut_off_inside_its_reasoning_is_reported(tmp_path):
    fake = FaultServer(tmp_path, [{"raw": _reply("<think>so many thoughts, and more", "length")}])
    try:
        result = adhere("eval", "ifeval", "--model", "openai:m", "-M", f"base_url={fake.url}", "--data",
                        prompts_file(tmp_path, 2), "--out-dir", tmp_path / "run",
                        env={"ADHERE_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip
        assert result.returncode == 0, result.stderr
        rows = read_jsonl(tmp_path / "run" / "responses.jsonl")
        assert all(r["response"] == "" and r["reasoning_unfinished"] for r in rows)
        warnings = json.loads((tmp_path / "run" / "summary.json").read_text())["warnings"]
        assert any("2 of 2 response(s) ended inside the model's reasoning" in w for w in warnings)
        assert "ended inside the model's reasoning" in result.stderr + result.stdout
        from adhere import load_run

        assert "2 ended inside the reasoning (no answer)" in load_run(tmp_path / "run").status()
    finally:
        fake.kill()


def test_score_reads_responses_as_written_unless_told_to_strip(tmp_path):
    row = {"key": 1, "prompt": "p", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}],
           "response": TRACE + "An answer without any"}  # fmt: skip
    from tests.conftest import write_jsonl

    path = write_jsonl(tmp_path / "r.jsonl", [row])
    kept = adhere("score", path, "--out-dir", tmp_path / "kept", "--quiet")
    stripped = adhere("score", path, "--out-dir", tmp_path / "stripped", "--quiet", "--reasoning", "strip")
    assert kept.returncode == 0 and stripped.returncode == 0, kept.stderr + stripped.stderr
    accuracy = {name: json.loads((tmp_path / name / "summary.json").read_text())["accuracy"]["prompt_level_strict"]
                for name in ("kept", "stripped")}  # fmt: skip
    assert accuracy == {"kept": 0.0, "stripped": 1.0}
