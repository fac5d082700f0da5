"""``adhere.__all__`` is the public API: complete, and every name in it resolves."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import pytest

import adhere


def test_all_names_resolve():
    for name in adhere.__all__:
        assert hasattr(adhere, name), name


def test_all_is_complete():
    public = {
        name
        for name, value in vars(adhere).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public - {"annotations"} == set(adhere.__all__) - {"__version__"}


def test_import_does_no_work():
    # No heavy analysis at import: NLTK, langdetect and rich load only when first used.
    code = "import sys, adhere; print(sorted(m for m in ('nltk', 'langdetect_rs', 'rich', 'regex') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_score_takes_rows_in_memory_as_it_takes_a_file(tmp_path):
    rows = [
        {"key": 1, "prompt": "p", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}], "response": "no commas"},
        {"key": 2, "prompt": "p", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}], "response": "a, b"},
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    in_memory, from_file = adhere.score(rows), adhere.score(path)
    assert in_memory.to_dict()["accuracy"] == from_file.to_dict()["accuracy"]
    assert in_memory.prompts == 2 and in_memory.strict.prompt.correct == 1
    with pytest.raises(adhere.InputError, match="row 2: 'response' must be a string"):
        adhere.score([rows[0], {**rows[1], "response": None}])
    with pytest.raises(adhere.InputError, match="row 1: expected a row"):
        adhere.score([["not", "a", "row"]])


def test_evaluate_runs_a_model_on_a_benchmark_and_returns_per_prompt_records(tmp_path):
    pytest.importorskip("llama_cpp")
    from tests.conftest import IFEVAL

    model = adhere.Model("local", n_parallel=2)
    run = adhere.evaluate(model, "ifeval", data=IFEVAL / "input_data.jsonl", limit=2, out=tmp_path / "run",
                          cache=tmp_path / "cache.sqlite", max_tokens=16)  # fmt: skip
    assert isinstance(run, adhere.Run) and run.summary.prompts == 2 and len(run.results) == 2
    first = run.results[0]
    assert first.prompt and first.response is not None and len(first.strict) == len(first.instruction_id_list)
    assert run.config["backend_options"] == {"n_parallel": 2} and run.config["generation"]["max_tokens"] == 16
    # The same call again resumes: every answer is already in the run directory.
    again = adhere.evaluate(model, "ifeval", data=IFEVAL / "input_data.jsonl", limit=2, out=tmp_path / "run",
                            cache=False, max_tokens=16)  # fmt: skip
    assert [r.response for r in again.results] == [r.response for r in run.results]
    with model:
        completion = model.generate("Say hello.", max_tokens=8)
    assert isinstance(completion.text, str) and completion.finish_reason in ("stop", "length")


def test_evaluate_and_model_refuse_bad_input_before_any_work(tmp_path):
    with pytest.raises(adhere.InputError, match="unknown benchmark .ifevl.; did you mean ifeval"):
        adhere.evaluate("local", "ifevl", out=tmp_path / "x")
    with pytest.raises(adhere.InputError):
        adhere.Model("nope:thing")
    assert not (tmp_path / "x").exists()
