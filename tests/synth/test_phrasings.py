"""`adhere synth --phrasing varied`: other wordings of each instruction, asking for what the checker verifies."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import defaultdict

import pytest

from adhere.constraints.registry import build
from adhere.constraints.rows import constraints_of
from adhere.constraints.registry import get, ids
from adhere.constraints.sampling import default_pool, prompt_bound, samplers
from adhere.synth.phrasings import wordings

SAMPLED = default_pool(quoting=True)
PROMPT_BOUND = prompt_bound()


def others(id_):
    return get(id_).other_wordings
from adhere.synth.seeds import builtin_seeds
from adhere.synth.synthesize import SynthConfig, synthesize


def test_every_samplable_id_has_other_wordings_and_nothing_else_does():
    assert {id_ for id_ in ids("ifeval") if others(id_)} == set(SAMPLED)
    for id_ in SAMPLED:
        templates = others(id_)
        assert len(templates) >= 2 and len(set(templates)) == len(templates), id_


@pytest.mark.parametrize("id_", sorted(set(SAMPLED) - PROMPT_BOUND))
def test_each_wording_states_every_kwarg(id_):
    rng = random.Random(id_)
    for _ in range(30):
        constraint = build(id_, samplers()[id_](rng))
        said = wordings(constraint)
        assert len(set(said)) == len(said) == len(others(id_)) + 1
        for sentence in said[1:]:
            assert "{" not in sentence and "}" not in sentence, sentence
            for name, value in constraint.kwargs().items():
                values = value if isinstance(value, list) else [value]
                for v in values:
                    text = constraint._render_field(name, v) if name in ("language", "letter", "first_word") else str(v)
                    assert text.strip() in sentence, (name, v, sentence)


def test_keyword_lists_read_as_prose():
    said = wordings(build("keywords:forbidden_words", {"forbidden_words": ["river", "garden"]}))
    assert 'Do not use the words "garden" and "river" anywhere in your answer.' in said
    said = wordings(build("keywords:existence", {"keywords": ["river"]}))
    assert 'Make sure to use the word "river" in your answer.' in said


def test_varied_prompts_keep_the_seeds_constraints_and_word_them_many_ways():
    seeds = builtin_seeds()
    canonical = synthesize(SynthConfig(count=600, seed=4), seeds)
    varied = synthesize(SynthConfig(count=600, seed=4, phrasing="varied"), seeds)
    assert varied == synthesize(SynthConfig(count=600, seed=4, phrasing="varied"), seeds)
    seen = defaultdict(set)
    for before, row in zip(canonical, varied):
        assert row["instruction_id_list"] == before["instruction_id_list"]
        assert row["source"] == before["source"]
        _, constraints = constraints_of(row, row["key"])
        for constraint, kwargs in zip(constraints, before["kwargs"]):
            if constraint.id not in PROMPT_BOUND:
                assert constraint.kwargs() == kwargs
            used = [w for w in wordings(constraint) if w in row["prompt"]]
            assert used, (constraint.id, row["prompt"])
            seen[constraint.id].add(wordings(constraint).index(used[0]))
    assert varied != canonical
    # Every id drawn often enough appears in its own sentence and in every other wording.
    common = [id_ for id_ in seen if sum(id_ in r["instruction_id_list"] for r in varied) >= 30]
    assert len(common) >= 20
    for id_ in common:
        assert seen[id_] == set(range(len(others(id_)) + 1)), id_


def test_a_varied_request_to_repeat_is_still_everything_before_it():
    rows = synthesize(SynthConfig(count=60, seed=9, phrasing="varied", require=("combination:repeat_prompt",)), ["Explain how tides work."])
    worded = set()
    for row in rows:
        index = row["instruction_id_list"].index("combination:repeat_prompt")
        request = row["kwargs"][index]["prompt_to_repeat"]
        sentence = row["prompt"][len(request):].strip()
        assert row["prompt"].startswith(request + "\n") and "\n" not in sentence
        worded.add(sentence)
        constraint = build("combination:repeat_prompt", row["kwargs"][index])
        assert constraint.check(f"{request} The tides follow the moon.").passed
        assert not constraint.check(f"Sure! {request} The tides follow the moon.").passed
    assert len(worded) == len(others("combination:repeat_prompt")) + 1


def test_the_cli_takes_the_phrasing_and_the_card_records_it(tmp_path):
    out = tmp_path / "p.jsonl"
    cli = [sys.executable, "-m", "adhere.cli", "synth", "--count", "20", "--seed", "1", "--out", str(out)]
    done = subprocess.run([*cli, "--phrasing", "varied"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    card = json.loads((tmp_path / "p.card.json").read_text())
    assert card["config"]["phrasing"] == "varied"
    bad = subprocess.run([*cli, "--phrasing", "loose"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--phrasing: invalid choice: 'loose'" in bad.stderr


# --- probe sets: wordings held out of training ------------------------------------------------


def test_probe_wordings_are_held_out_of_every_training_wording():
    from adhere.synth.phrasings import probe_wordings

    rng = random.Random(5)
    assert {id_ for id_ in ids("ifeval") if get(id_).probe_wordings} == set(SAMPLED)
    for id_ in SAMPLED:
        for _ in range(10):
            constraint = build(id_, samplers()[id_](rng))
            held_out = probe_wordings(constraint)
            assert held_out and not set(held_out) & set(wordings(constraint)), id_
            for text in held_out:
                assert "{" not in text or id_ == "detectable_format:json_format", text  # every placeholder filled


def test_a_probe_set_asks_in_held_out_words_only():
    from adhere.synth.phrasings import probe_wordings

    config = SynthConfig(count=200, seed=99, phrasing="probe")
    rows = synthesize(config, builtin_seeds())
    assert [r["instruction_id_list"] for r in rows] == [
        r["instruction_id_list"] for r in synthesize(SynthConfig(count=200, seed=99), builtin_seeds())
    ]  # the same draws as any phrasing: only the words change
    for row in rows:
        for constraint in constraints_of(row, row["key"])[1]:
            trained = [w for w in wordings(constraint) if w in row["prompt"]]
            assert not trained, (constraint.id, trained)
            assert any(w in row["prompt"] for w in probe_wordings(constraint)), constraint.id
    with pytest.raises(Exception, match="needs held-out wordings"):
        SynthConfig(count=5, ids=("ifevalg",), phrasing="probe").validate()


# --- layouts: where the instructions go ------------------------------------------------------


def test_a_varied_layout_keeps_the_draws_and_writes_three_layouts():
    """--layout varied draws, per prompt, the appended layout, the instructions after a blank
    line, or the request to repeat written below its instruction; tasks, constraints and
    wordings are those of the appended layout."""
    seeds = builtin_seeds()
    settings = dict(count=300, seed=5, phrasing="varied", weights=(("combination:repeat_prompt", 6.0),))
    appended = synthesize(SynthConfig(**settings), seeds)
    varied = synthesize(SynthConfig(**settings, layout="varied"), seeds)
    assert varied == synthesize(SynthConfig(**settings, layout="varied"), seeds)
    assert "layout" not in appended[0]["source"]
    styles = defaultdict(int)
    for before, row in zip(appended, varied):
        style = row["source"].pop("layout")
        styles[style] += 1
        assert row["source"] == before["source"] and row["instruction_id_list"] == before["instruction_id_list"]
        task = row["source"]["task"]
        if style == "appended":
            assert row == before
        elif style == "lines":
            assert row["prompt"] == before["prompt"].replace(task + " ", task + "\n\n", 1)
            for kwargs, earlier in zip(row["kwargs"], before["kwargs"]):  # a request to repeat: the same change
                assert kwargs == {k: v.replace(task + " ", task + "\n\n", 1) if k == "prompt_to_repeat" else v
                                  for k, v in earlier.items()}  # fmt: skip
        else:
            index = row["instruction_id_list"].index("combination:repeat_prompt")
            request = row["kwargs"][index]["prompt_to_repeat"]
            leading, _, below = row["prompt"].partition("\n\n")
            assert leading in get("combination:repeat_prompt").leading_wordings and below == request
            assert request == before["kwargs"][index]["prompt_to_repeat"]  # the same request, placed below
            constraint = build("combination:repeat_prompt", row["kwargs"][index])
            assert constraint.check(f"{request}\n\nHere is my answer.").passed
            assert not constraint.check(f"{leading}\n\n{request}").passed
    assert set(styles) == {"appended", "lines", "below"} and styles["below"] >= 15


def test_the_instructions_of_a_lines_layout_follow_the_task_after_a_blank_line():
    rows = synthesize(SynthConfig(count=40, seed=2, layout="varied", ids=("punctuation:no_comma",), max_constraints=1), ["Explain how tides work."])
    lines = [r for r in rows if r["source"]["layout"] == "lines"]
    assert lines and {r["source"]["layout"] for r in rows} == {"appended", "lines"}  # nothing to place below
    for row in lines:
        assert row["prompt"] == "Explain how tides work.\n\n" + get("punctuation:no_comma").template


def test_a_probe_set_never_places_the_request_below_in_training_words():
    rows = synthesize(SynthConfig(count=200, seed=3, phrasing="probe", layout="varied",
                                  require=("combination:repeat_prompt",)), builtin_seeds())  # fmt: skip
    assert {r["source"]["layout"] for r in rows} == {"appended", "lines"}
    leading = get("combination:repeat_prompt").leading_wordings
    assert leading and not set(leading) & set(get("combination:repeat_prompt").probe_wordings)


def test_a_bad_layout_is_one_line():
    with pytest.raises(Exception, match="--layout must be one of appended, varied, got 'mixed'"):
        SynthConfig(count=5, layout="mixed").validate()
    bad = subprocess.run([sys.executable, "-m", "adhere.cli", "synth", "--count", "5", "--out", "/dev/null", "--layout",
                          "mixed"], capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and "--layout: invalid choice: 'mixed'" in bad.stderr
