"""Recipes: reading and checking them (every error one line naming the file and key, before anything
runs), the shipped recipes, and content-addressed re-runs (on synth stages, which need no model)."""

from __future__ import annotations

import json

import pytest
from tests.conftest import IFBENCH, IFEVAL

from adhere.cli import main
from adhere.errors import InputError
from adhere.recipe import RecipeRun, Workspace, builtin_names, load_recipe

DATA = {"ifeval": str(IFEVAL / "input_data.jsonl"), "ifbench": str(IFBENCH / "IFBench_test.jsonl")}

GOOD = """
[params]
limit = 3
[stages.prompts]
kind = "synth"
count = 8
[stages.answers]
kind = "answer"
prompts = "prompts"
[stages.sft]
kind = "make-sft"
answers = "answers"
[stages.pairs]
kind = "make-pairs"
answers = "answers"
[stages.train]
kind = "train"
data = "sft"
[stages.model]
kind = "export"
train = "train"
[stages.eval-base]
kind = "evaluate"
limit = "${limit}"
[stages.eval-model]
kind = "evaluate"
model = "model"
limit = "${limit}"
"""


def recipe_file(tmp_path, text, name="r.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_good_recipe_is_ordered_and_its_parameters_applied(tmp_path):
    recipe = load_recipe(recipe_file(tmp_path, GOOD), {"limit": 5})
    assert list(recipe.stages)[:3] == ["prompts", "answers", "sft"] and recipe.baseline == "eval-base"
    assert recipe.stages["eval-model"].limit == 5 and recipe.params == {"limit": 5}
    assert recipe.needs("model") == ["train"] and recipe.downstream("sft") == {"train", "model", "eval-model"}


def test_stages_run_after_what_they_read_whatever_the_file_order(tmp_path):
    text = '[stages.b]\nkind = "answer"\nprompts = "a"\n[stages.a]\nkind = "synth"\n'
    assert list(load_recipe(recipe_file(tmp_path, text)).stages) == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "overrides", "message"),
    [
        ('[stages.p]\nkind = "synth"\ncont = 3', {}, r"\[stages.p\]: unknown key 'cont' \(did you mean 'count'\?\)"),
        ('[stages.p]\nkind = "synth"\ncount = "many"', {}, r"\[stages.p\] count: expected an integer, got 'many'"),
        ('[stages.p]\nkind = "synth"\ncount = 0', {}, r"\[stages.p\]: .*count must be at least 1"),
        ('[stages.p]\nkind = "synthesize"', {}, r"kind: 'synthesize' \(did you mean 'synth'\?\)"),
        ('[stages.p]\ncount = 3', {}, r"\[stages.p\] kind: missing; one of synth, answer"),
        ('[stages.p]\nkind = "synth"\nphrasing = "loose"', {}, r"phrasing: must be one of canonical, varied"),
        ('[stages.a]\nkind = "mix"\ninputs = ["b"]\n[stages.b]\nkind = "mix"\ninputs = ["a"]', {},
         r"the stages form a cycle \(a -> b -> a\)"),
        ('[stages.prompts]\nkind = "synth"\n[stages.a]\nkind = "answer"\nprompts = "promtps"', {},
         r"\[stages.a\] prompts: no stage 'promtps' makes it \(did you mean 'prompts'\?\)"),
        ('[stages.p]\nkind = "synth"\n[stages.a]\nkind = "answer"\nprompts = "p"\n[stages.t]\nkind = "train"\ndata = "a"', {},
         r"\[stages.t\] data: 'a' is a answer stage \(it makes answers\); this takes sft or pairs"),
        ('[stages.p]\nkind = "synth"\n[stages.a]\nkind = "answer"\nprompts = "p"\n[stages.s]\nkind = "make-sft"\n'
         'answers = "a"\n[stages.t]\nkind = "train"\nmethod = "dpo"\ndata = "s"', {}, r"dpo trains on preference pairs"),
        ('[stages.p]\nkind = "synth"\ncount = "${n}"', {}, r"unknown parameter \$\{n\}; declare it in \[params\]"),
        ('[params]\neval_limit = 0\n[stages.p]\nkind = "synth"', {"eval_limt": 3},
         r"--set eval_limt: .* has no parameter 'eval_limt' \(did you mean 'eval_limit'\?\)"),
        ('[params]\neval_limit = 0\n[stages.p]\nkind = "synth"', {"eval_limit": "all"}, r"declares eval_limit as int"),
        ('[recipe]\nbaseline = "p"\n[stages.p]\nkind = "synth"', {}, r"baseline: 'p' is not an evaluate stage"),
        ('[stages.ifeval]\nkind = "synth"', {}, r"'ifeval' names a benchmark or the base model"),
        ('[stage.p]\nkind = "synth"', {}, r"unknown table \[stage\] \(did you mean 'stages'\?\)"),
        ("[stages.p\nkind = 1", {}, r"not valid TOML"),
        ("[params]\nx = 1", {}, r"no stages"),
        ('[stages.p]\nkind = "synth"\n[stages.a]\nkind = "answer"\nprompts = "p"\n[stages.s]\nkind = "make-sft"\n'
         'answers = "a"\nkeep_cut_off = true\nend_cut_off = true', {}, r"pass one of the two"),
        ('[stages.p]\nkind = "synth"\n[stages.a]\nkind = "answer"\nprompts = "p"\n[stages.s]\nkind = "make-sft"\n'
         'answers = "a"\nmax_repetition = 1.0', {}, r"\[stages.s\]: max_repetition is a share of repeated word 4-grams"),
        ('[stages.p]\nkind = "synth"\nweights = { "nope:nope" = 2 }', {}, r"\[stages.p\]: .*nope:nope"),
        ('[stages.p]\nkind = "synth"\ndecontaminate = ["ifevl"]', {}, r"no stage 'ifevl' makes it \(did you mean 'ifeval'\?\)"),
        ('[stages.e]\nkind = "evaluate"\nmodel = "mdl"', {}, r"\[stages.e\] model: no stage 'mdl' makes it"),
        ('[stages.p]\nkind = "synth"\n[stages.a]\nkind = "answer"\nprompts = "p"\nsamples = 4', {},
         r"\[stages.a\]: samples = 4 at temperature 0 gives identical greedy answers; set temperature"),
        ('[stages.e]\nkind = "evaluate"\nreasoning = "drop"', {}, r"\[stages.e\] reasoning: must be one of strip, keep"),
        ('[stages.p]\nkind = "synth"\n[stages.a]\nkind = "answer"\nprompts = "p"\n[stages.s]\nkind = "make-sft"\n'
         'answers = "a"\n[stages.t]\nkind = "train"\nmethod = "grpo"\ndata = "s"', {},
         r"grpo trains on verifiable prompts \(a synth stage\), and 's' makes sft"),
        ('[stages.p]\nkind = "synth"\n[stages.t]\nkind = "train"\nmethod = "grpo"\ndata = "p"\nnum_generations = 1', {},
         r"num_generations must be at least 2"),
        ('[stages.p]\nkind = "synth"\n[stages.q]\nkind = "synth"\nfocus = "p"', {},
         r"\[stages.q\] focus: 'p' is a synth stage \(it makes prompts\); this takes answers"),
        ('[stages.p]\nkind = "synth"\n[stages.a]\nkind = "answer"\nprompts = "p"\n[stages.q]\nkind = "synth"\n'
         'focus = "a"\nfocus_weight = 0.5', {}, r"\[stages.q\]: focus_weight must be a number of at least 1, got 0.5"),
        ('[stages.a]\nkind = "answer"\nprompts = "ifeval"\n[stages.q]\nkind = "synth"\nfocus = "a"', {},
         r"\[stages.q\] focus: 'a' answers ifeval, a benchmark; focus on answers to training prompts"),
        ('[stages.p]\nkind = "synth"\n[stages.a]\nkind = "answer"\nprompts = "p"\n[stages.q]\nkind = "synth"\n'
         'focus = "a"\nfocus_on = "rows"', {}, r"\[stages.q\] focus_on: must be one of failed, learnable"),
        ('[stages.q]\nkind = "synth"\nfocus_on = "learnable"', {},
         r"\[stages.q\]: focus_weight and focus_on apply with focus only; add focus"),
    ],
)
def test_a_bad_recipe_is_one_line_naming_the_file_and_key(tmp_path, text, overrides, message):
    path = recipe_file(tmp_path, text)
    with pytest.raises(InputError, match=message) as caught:
        load_recipe(path, overrides)
    assert str(caught.value).startswith(path) or str(caught.value).startswith("--set")
    assert "\n" not in str(caught.value)


def test_grpo_trains_on_a_synth_stages_prompts(tmp_path):
    recipe = load_recipe(recipe_file(tmp_path, '[stages.p]\nkind = "synth"\ncount = 8\n[stages.t]\nkind = "train"\n'
                                               'method = "grpo"\ndata = "p"\nnum_generations = 2\nbatch_size = 2'))
    assert recipe.stages["t"].method == "grpo" and recipe.stages["t"].references()["data"] == ("p",)


def test_the_cli_refuses_a_bad_recipe_with_exit_2_and_writes_nothing(tmp_path, capsys):
    path = recipe_file(tmp_path, '[stages.p]\nkind = "synth"\ncont = 3')
    assert main(["loop", "--recipe", path, "--out-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did you mean 'count'" in err[0]
    assert main(["loop", "--out-dir", str(tmp_path / "out"), "--set", "eval_limit"]) == 2
    assert "--set takes PARAM=VALUE" in capsys.readouterr().err
    assert main(["loop", "--recipe", "defualt", "--out-dir", str(tmp_path / "out")]) == 2
    assert "unknown recipe 'defualt' (did you mean 'default'?)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", builtin_names())
def test_every_shipped_recipe_is_valid_and_plans(tmp_path, name):
    recipe = load_recipe(name)
    assert recipe.description and recipe.baseline
    run = RecipeRun(recipe, Workspace(out=tmp_path / "out", data=DATA))
    assert {step.status for step in run.plan()} == {"runs"} and not (tmp_path / "out").exists()


def test_the_default_recipe_is_the_measured_one():
    """The settings of benchmarks/runs/transform_sft.sh with PHRASING=varied, round2-sft, as
    docs/experiments.md measured them (2026-12-03): any change here needs a new measurement."""
    stages = load_recipe("default").stages
    synth = {name: (s.count, s.seed, s.phrasing, dict(s.weights), s.decontaminate)
             for name, s in stages.items() if s.kind == "synth"}  # fmt: skip
    transforms = {"change_case:english_lowercase": 6.0, "change_case:english_capital": 6.0,
                  "combination:repeat_prompt": 6.0}  # fmt: skip
    assert synth == {
        "prompts-focus": (300, 11, "varied", transforms, ("ifeval", "ifbench")),
        "prompts-broad": (400, 12, "varied", {}, ("ifeval", "ifbench", "prompts-focus")),
        "prompts-wide": (400, 13, "varied", {}, ("ifeval", "ifbench")),
        "prompts-round2": (400, 14, "varied", {}, ("ifeval", "ifbench")),
    }
    assert stages["sft-round1"].inputs == ("sft-focus", "sft-broad", "sft-wide")
    for name in ("train-round1", "train-round2"):
        train = stages[name]
        assert (train.method, train.epochs, train.learning_rate, train.max_length, train.batch_size) == ("sft", 3.0, 1e-3, 768, 4)
    assert stages["train-round1"].model == "base" and stages["train-round2"].model == "model-round1"
    assert stages["answers-round2"].model == "model-round1" and stages["train-round2"].data == "sft-round2"
    assert all(s.max_tokens == 256 and s.strategy is None for s in stages.values() if s.kind in ("answer", "evaluate"))
    assert all(s.repair and s.end_cut_off for s in stages.values() if s.kind == "make-sft")
    assert stages["eval-round2"].limit == 0 and stages["eval-round2"].benchmarks == ("ifeval", "ifbench")


SYNTH = """
[params]
count = 6
[stages.a]
kind = "synth"
count = "${count}"
[stages.b]
kind = "synth"
count = 5
seed = 1
decontaminate = ["ifeval", "a"]
[stages.c]
kind = "synth"
count = 4
seed = 2
"""


def test_a_changed_stage_runs_again_with_what_reads_it_and_nothing_else(tmp_path):
    path = recipe_file(tmp_path, SYNTH)
    out = tmp_path / "out"

    def run(**params):
        return RecipeRun(load_recipe(path, params), Workspace(out=out, data=DATA))

    run().run()
    attempts = (out / "stages.jsonl").read_text().splitlines()
    assert [json.loads(line)["stage"] for line in attempts] == ["a", "b", "c"]
    assert len((out / "a" / "prompts.jsonl").read_text().splitlines()) == 6
    assert {s.status for s in run().plan()} == {"done"}
    run().run()
    assert (out / "stages.jsonl").read_text().splitlines() == attempts  # nothing ran again

    changed = run(count=7)
    assert [(s.name, s.status) for s in changed.plan()] == [("a", "re-runs"), ("b", "re-runs"), ("c", "done")]
    (out / "a" / "stale.txt").write_text("from the old key")
    changed.run()
    assert [json.loads(line)["stage"] for line in (out / "stages.jsonl").read_text().splitlines()[3:]] == ["a", "b"]
    assert len((out / "a" / "prompts.jsonl").read_text().splitlines()) == 7 and not (out / "a" / "stale.txt").exists()
    # The run directory's recipe.toml is the recipe as it ran: run from it, everything is done.
    again = RecipeRun(load_recipe(str(out / "recipe.toml")), Workspace(out=out, data=DATA))
    assert {s.status for s in again.plan()} == {"done"} and again.recipe.params == {"count": 7}
    # Another benchmark file is another input: what decontaminated against it runs again.
    other = tmp_path / "ifeval.jsonl"
    other.write_text("\n".join((IFEVAL / "input_data.jsonl").read_text().splitlines()[:50]) + "\n")
    moved = RecipeRun(load_recipe(path, {"count": 7}), Workspace(out=out, data={**DATA, "ifeval": str(other)}))
    assert [(s.name, s.status) for s in moved.plan()] == [("a", "re-runs"), ("b", "re-runs"), ("c", "re-runs")]


def test_the_reporter_hears_each_stage_that_ran_with_its_result(tmp_path):
    from adhere.recipe import Reporter

    heard = []

    class Ear(Reporter):
        def finished(self, name, kind, result):
            heard.append((name, kind, result))

    out = tmp_path / "out"
    RecipeRun(load_recipe(recipe_file(tmp_path, SYNTH)), Workspace(out=out, data=DATA, reporter=Ear())).run()
    assert [(name, kind) for name, kind, _ in heard] == [("a", "synth"), ("b", "synth"), ("c", "synth")]
    assert heard[0][2] == json.loads((out / "a" / "stage.json").read_text())["result"]


def test_a_stage_cut_short_resumes_under_its_key_and_is_wiped_under_another(tmp_path):
    path = recipe_file(tmp_path, SYNTH)
    out = tmp_path / "out"
    run = RecipeRun(load_recipe(path), Workspace(out=out, data=DATA))
    run.run()
    (out / "c" / "stage.json").unlink()  # as if killed before it finished
    assert [s.status for s in run.plan()] == ["done", "done", "resumes"]
    (out / "c" / ".key").write_text("0123456789abcdef\n")  # a kill under an older recipe
    assert [s.status for s in run.plan()] == ["done", "done", "re-runs"]


def test_a_folder_that_is_not_a_loop_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="is not empty and holds no adhere loop"):
        RecipeRun(load_recipe(recipe_file(tmp_path / "..", SYNTH, "synth-recipe.toml")), Workspace(out=tmp_path, data=DATA)).run()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_why_a_rows_stage_made_none_names_the_setting_to_change(tmp_path):
    recipe = load_recipe(recipe_file(tmp_path, GOOD))
    ws = Workspace(out=tmp_path, data=DATA, recipe=recipe)
    (tmp_path / "sft").mkdir()
    (tmp_path / "sft" / "rows.card.json").write_text(json.dumps({"candidates": 8, "cut_off_candidates": 8}))
    assert ws.why_no_rows("sft") == ("8 of 8 answers were cut off at the token limit and are left out; raise "
                                     "max_tokens of answers (or end them where they last made sense: end_cut_off)")


def test_the_recipe_guide_lists_every_stage_setting_as_the_code_declares_it():
    from pathlib import Path

    from adhere.recipe.kinds import reference

    guide = (Path(__file__).parents[2] / "docs" / "recipes.md").read_text()
    assert guide.endswith(reference()), "docs/recipes.md is out of date: rewrite its stage kinds from kinds.reference()"


def test_a_key_holds_only_settings_that_differ_from_their_defaults(tmp_path):
    """A setting added to adhere later (at its default) leaves every finished stage's key as it
    was; stating a default explicitly is the same stage."""
    from adhere.recipe.engine import plan_keys

    def keys(text):
        return plan_keys(Workspace(out=tmp_path, data=DATA), load_recipe(recipe_file(tmp_path, text)))

    plain = keys('[stages.p]\nkind = "synth"\ncount = 5\n')
    assert keys('[stages.p]\nkind = "synth"\ncount = 5\nseed = 0\nphrasing = "canonical"\n') == plain
    assert keys('[stages.p]\nkind = "synth"\ncount = 5\nseed = 1\n') != plain


def test_an_unset_reference_is_not_in_the_key(tmp_path):
    """A reference setting added to adhere later (synth's focus), left unset, leaves the keys of
    stages made before it as they were: this synth stage's key is the one adhere had before."""
    from adhere.recipe.engine import plan_keys

    recipe = load_recipe(recipe_file(tmp_path, '[stages.p]\nkind = "synth"\ncount = 5\n'))
    assert plan_keys(Workspace(out=tmp_path, data=DATA), recipe) == {"p": "b5be4c2df5c7e2e8"}


def _verdicts(folder, rows):
    folder.mkdir(parents=True)
    lines = [json.dumps({"key": n, "instruction_id_list": ids, "strict": {"follow_instruction_list": ok}})
             for n, (ids, ok) in enumerate(rows)]  # fmt: skip
    (folder / "verdicts.jsonl").write_text("\n".join(lines) + "\n")


def test_a_synth_stage_draws_more_of_what_an_answer_stage_failed(tmp_path):
    """focus: the ids the answers failed are drawn more often (here lowercase, failed every time,
    at 6x, and a comma-free answer followed every time at 1x); the weights are in the result and
    the prompts' card; weights given by hand override the derived ones."""
    import collections

    lower, comma, title = "change_case:english_lowercase", "punctuation:no_comma", "detectable_format:title"
    text = ('[stages.p]\nkind = "synth"\n[stages.a]\nkind = "answer"\nprompts = "p"\n'
            '[stages.q]\nkind = "synth"\ncount = 300\nseed = 3\nfocus = "a"\ndecontaminate = []\n'
            f'weights = {{ "{title}" = 2 }}\n'
            '[stages.r]\nkind = "synth"\ncount = 300\nseed = 3\ndecontaminate = []\n')  # fmt: skip
    recipe = load_recipe(recipe_file(tmp_path, text))
    ws = Workspace(out=tmp_path / "run", data=DATA, recipe=recipe)
    _verdicts(ws.folder("a") / "run", [([lower, comma], [False, True]), ([lower], [False]), ([comma], [True])])
    drawn = {}
    for name in ("q", "r"):
        result = recipe.stages[name].run(ws, ws.folder(name))
        rows = [json.loads(line) for line in (ws.folder(name) / "prompts.jsonl").read_text().splitlines()]
        drawn[name] = collections.Counter(cid for row in rows for cid in row["instruction_id_list"])
    assert result.get("focus_weights") is None
    weights = recipe.stages["q"].run(ws, ws.folder("q"))["focus_weights"]
    assert weights == {lower: 6.0, title: 2}  # no_comma, always followed, keeps 1 (not listed)
    assert drawn["q"][lower] > 3 * drawn["r"][lower] and drawn["q"][title] > drawn["r"][title]
    card = json.loads((ws.folder("q") / "prompts.card.json").read_text())
    assert card["config"]["weights"] == weights


def test_focus_weights_are_refused_from_a_run_that_cannot_give_them(tmp_path):
    from adhere.synth.focus import focus_weights

    with pytest.raises(InputError, match=r"has no verdicts.jsonl; give a run directory of adhere eval"):
        focus_weights(tmp_path / "none", ["punctuation:no_comma"], 6)
    _verdicts(tmp_path / "run", [(["punctuation:no_comma"], [False])])
    with pytest.raises(InputError, match=r"carry none of the constraint ids drawn from"):
        focus_weights(tmp_path / "run", ["change_case:english_lowercase"], 6)
    with pytest.raises(InputError, match=r"focus_weight must be a number of at least 1, got 0"):
        focus_weights(tmp_path / "run", ["punctuation:no_comma"], 0)
    (tmp_path / "run" / "verdicts.jsonl").write_text('{"key": 1}\n')
    with pytest.raises(InputError, match=r"line 1 is not a verdict row of adhere eval"):
        focus_weights(tmp_path / "run", ["punctuation:no_comma"], 6)


def test_learnable_focus_draws_no_more_of_what_a_round_cannot_turn_into_rows(tmp_path):
    """focus_on = "learnable": an id with a repair edit (lowercase) is weighted by its failures as
    before; one without (keyword existence, the n-th paragraph's first word) by its failed share
    times its passed share: existence, failed 3 of 4, 1 + 5 * 3/4 * 1/4; the first word, never
    passed and never repaired, not drawn more often at all (counting every failure, 6)."""
    from adhere.synth.focus import focus_weights

    lower, exist, first = ("change_case:english_lowercase", "keywords:existence",
                           "length_constraints:nth_paragraph_first_word")  # fmt: skip
    _verdicts(tmp_path / "run", [([lower, exist], [False, False]), ([exist, first], [False, False]),
                                 ([exist], [True]), ([lower, exist, first], [False, False, False])])  # fmt: skip
    pool = [lower, exist, first, "punctuation:no_comma"]
    assert focus_weights(tmp_path / "run", pool, 6) == {exist: 4.75, lower: 6.0, first: 6.0}
    assert focus_weights(tmp_path / "run", pool, 6, on="learnable") == {exist: 1.9375, lower: 6.0}
    text = ('[stages.p]\nkind = "synth"\n[stages.a]\nkind = "answer"\nprompts = "p"\n[stages.q]\nkind = "synth"\n'
            'count = 20\nfocus = "a"\nfocus_on = "learnable"\ndecontaminate = []\n')  # fmt: skip
    recipe = load_recipe(recipe_file(tmp_path, text))
    ws = Workspace(out=tmp_path / "loop", data=DATA, recipe=recipe)
    (ws.folder("a")).mkdir(parents=True)
    (tmp_path / "run").rename(ws.folder("a") / "run")
    assert recipe.stages["q"].run(ws, ws.folder("q"))["focus_weights"] == {exist: 1.9375, lower: 6.0}
    assert "more of what a failed and a round can learn" in recipe.stages["q"].describe()
    with pytest.raises(InputError, match=r"focus_on must be one of failed, learnable, got 'rows'"):
        focus_weights(ws.folder("a") / "run", pool, 6, on="rows")


def test_adhere_synth_focus_draws_from_a_runs_failures(tmp_path, capsys):
    import collections

    lower = "change_case:english_lowercase"
    _verdicts(tmp_path / "run", [([lower], [False])])
    out = tmp_path / "p.jsonl"
    assert main(["synth", "--out", str(out), "--count", "200", "--focus", str(tmp_path / "run")]) == 0
    card = json.loads((tmp_path / "p.card.json").read_text())
    assert card["config"]["weights"] == {lower: 6.0}
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    drawn = collections.Counter(cid for row in rows for cid in row["instruction_id_list"])
    assert drawn[lower] == max(drawn.values())
    assert main(["synth", "--out", str(out), "--focus-weight", "3"]) == 2
    assert "--focus-weight applies with --focus RUN_DIR only" in capsys.readouterr().err
    assert main(["synth", "--out", str(out), "--focus-on", "learnable"]) == 2
    assert "--focus-on applies with --focus RUN_DIR only" in capsys.readouterr().err
    first = "length_constraints:nth_paragraph_first_word"
    _verdicts(tmp_path / "run2", [([lower, first], [False, False])])
    assert main(["synth", "--out", str(out), "--count", "20", "--focus", str(tmp_path / "run2"),
                 "--focus-on", "learnable"]) == 0  # fmt: skip
    assert json.loads((tmp_path / "p.card.json").read_text())["config"]["weights"] == {lower: 6.0}


ROUNDS = """
[params]
rounds = 2
[rounds]
count = "${rounds}"
model = "model"
[rounds.stages.prompts]
kind = "synth"
count = 4
seed = "${round}"
[rounds.stages.answers]
kind = "answer"
prompts = "prompts"
model = "${previous}"
[rounds.stages.sft]
kind = "make-sft"
answers = "answers"
[rounds.stages.rows]
kind = "mix"
inputs = ["sft", "previous:rows"]
[rounds.stages.train]
kind = "train"
data = "rows"
model = "${previous}"
[rounds.stages.model]
kind = "export"
train = "train"
[stages.eval-base]
kind = "evaluate"
[stages.eval-last]
kind = "evaluate"
model = "${last}"
"""


def test_rounds_start_from_the_previous_rounds_model_and_may_replay_its_rows(tmp_path):
    recipe = load_recipe(recipe_file(tmp_path, ROUNDS))
    stages = recipe.stages
    assert [n for n in stages if n.endswith("-r1")] == ["prompts-r1", "answers-r1", "sft-r1", "rows-r1", "train-r1", "model-r1"]
    assert stages["answers-r1"].model == "base" and stages["train-r1"].model == "base"
    assert stages["answers-r2"].model == "model-r1" and stages["train-r2"].model == "model-r1"
    assert stages["answers-r2"].prompts == "prompts-r2" and stages["prompts-r2"].seed == 2
    assert stages["rows-r1"].inputs == ("sft-r1",) and stages["rows-r2"].inputs == ("sft-r2", "rows-r1")
    assert stages["eval-last"].model == "model-r2" and recipe.needs("eval-last") == ["model-r2"]
    three = load_recipe(recipe_file(tmp_path, ROUNDS), {"rounds": 3})
    assert three.stages["eval-last"].model == "model-r3" and "train-r3" in three.stages


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("count = \"${rounds}\"", "count = 0"), r"\[rounds\] count: how many rounds, an integer of at least 1; got 0"),
        (("model = \"model\"", "model = \"mdl\""), r"\[rounds\] model: 'mdl' is not one of its stages \(did you mean 'model'\?\)"),
        (("model = \"model\"", "modle = \"model\""), r"\[rounds\]: unknown key 'modle' \(did you mean 'model'\?\)"),
        (('inputs = ["sft", "previous:rows"]', 'inputs = ["sft", "previous:rowz"]'),
         r"\[rounds.stages.rows\] \(round 1\) inputs: 'previous:rowz' names no stage of \[rounds.stages\]"),
        (('data = "rows"', 'data = "previous:rows"'), r"\[rounds.stages.train\] \(round 1\) data: round 1 has no 'previous:rows'"),
    ],
)
def test_bad_rounds_are_one_line(tmp_path, change, message):
    with pytest.raises(InputError, match=message):
        load_recipe(recipe_file(tmp_path, ROUNDS.replace(*change)))


def test_a_recipe_extends_another_and_keeps_its_stage_keys(tmp_path):
    """A recipe that extends the default adds stages to it, overrides parameters, drops stages; the
    stages it keeps have the keys they have in the default, so a run of the default goes on."""
    child = recipe_file(tmp_path, """
[recipe]
extends = "default"
drop = ["eval-round2"]
description = "the default, then DPO"
[params]
eval_limit = 7
beta = 0.2
[stages.pairs-round2]
kind = "make-pairs"
answers = "answers-round2"
[stages.train-dpo]
kind = "train"
method = "dpo"
data = "pairs-round2"
model = "model-round2"
beta = "${beta}"
[stages.model-dpo]
kind = "export"
train = "train-dpo"
[stages.eval-dpo]
kind = "evaluate"
model = "model-dpo"
limit = "${eval_limit}"
""")
    recipe, default = load_recipe(child), load_recipe("default", {"eval_limit": 7})
    assert recipe.name == "r" and recipe.description == "the default, then DPO" and recipe.baseline == "eval-base"
    assert "eval-round2" not in recipe.stages and recipe.stages["eval-dpo"].limit == 7
    assert recipe.params == {**default.params, "beta": 0.2} and recipe.stages["train-dpo"].beta == 0.2
    ws = Workspace(out=tmp_path / "out", data=DATA)
    from adhere.recipe.engine import plan_keys

    keys, default_keys = plan_keys(ws, recipe), plan_keys(ws, default)
    assert all(keys[name] == default_keys[name] for name in default.stages if name != "eval-round2")
    # a stage of the child replaces the parent's of that name whole
    replaced = load_recipe(recipe_file(tmp_path, '[recipe]\nextends = "default"\n[stages.eval-base]\nkind = "evaluate"\n'
                                       'limit = 3\n', "s.toml"))  # fmt: skip
    assert replaced.stages["eval-base"].limit == 3 and replaced.stages["eval-base"].max_tokens != 256


def test_a_recipe_extends_a_file_beside_it_and_chains(tmp_path):
    recipe_file(tmp_path, GOOD, "base.toml")
    recipe_file(tmp_path, '[recipe]\nextends = "base.toml"\n[params]\nlimit = 4\n', "mid.toml")
    (tmp_path / "sub").mkdir()
    top = recipe_file(tmp_path, '[recipe]\nextends = "../mid.toml"\ndrop = ["pairs"]\n', "sub/top.toml")
    recipe = load_recipe(top)
    assert recipe.name == "top" and "pairs" not in recipe.stages and recipe.stages["eval-model"].limit == 4


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.toml": '[recipe]\nextends = "b.toml"\n', "b.toml": '[recipe]\nextends = "a.toml"\n'},
         r"^\S*b.toml \[recipe\] extends: a cycle \(\S*a.toml -> \S*b.toml -> \S*a.toml\); a recipe cannot"),
        ({"a.toml": '[recipe]\nextends = "defualt"\n'}, r"a.toml \[recipe\] extends: unknown recipe 'defualt' \(did you mean 'default'\?\)"),
        ({"a.toml": '[recipe]\nextends = "gone.toml"\n'}, r"a.toml \[recipe\] extends: .*gone.toml: no such recipe file"),
        ({"a.toml": '[recipe]\nextends = 3\n'}, r"a.toml \[recipe\] extends: a built-in recipe's name or a .toml file; got 3"),
        ({"a.toml": '[recipe]\nextends = "default"\ndrop = ["eval-rund2"]\n'},
         r"a.toml \[recipe\] drop: builtin:default has no stage 'eval-rund2' \(did you mean 'eval-round2'\?\)"),
        ({"a.toml": '[recipe]\ndrop = ["x"]\n' + GOOD}, r"a.toml \[recipe\] drop: only a recipe that extends another"),
        ({"a.toml": '[recipe]\nextends = "default"\ndrop = ["eval-base"]\n'},
         r"a.toml \[recipe\] baseline: 'eval-base' is not an evaluate stage"),
        ({"a.toml": '[recipe]\nextend = "default"\n' + GOOD.replace("[params]", "[params]", 1)},
         r"a.toml \[recipe\]: unknown key 'extend' \(did you mean 'extends'\?\)"),
    ],
)
def test_bad_extends_are_one_line(tmp_path, files, message):
    for name, text in files.items():
        recipe_file(tmp_path, text, name)
    with pytest.raises(InputError, match=message):
        load_recipe(str(tmp_path / "a.toml"))


@pytest.mark.parametrize("name", [n for n in builtin_names() if n.startswith("default-") or n == "ood"])
def test_a_shipped_recipe_built_on_the_default_keeps_the_default_s_stage_keys(tmp_path, name):
    """So that it runs in a folder where the default ran, doing only what it adds or changes."""
    from adhere.recipe.engine import plan_keys

    recipe, default = load_recipe(name), load_recipe("default")
    ws = Workspace(out=tmp_path / "out", data=DATA)
    keys, default_keys = plan_keys(ws, recipe), plan_keys(ws, default)
    changed = {n for n in recipe.stages if n not in default.stages or recipe.stages[n] != default.stages[n]}
    for stage_name, stage in recipe.stages.items():  # in order: what reads a changed stage changes too
        if any(ref in changed for refs in stage.references().values() for ref in refs):
            changed.add(stage_name)
    kept = [n for n in default.stages if n in recipe.stages and n not in changed]
    assert "answers-focus" in kept and all(keys[n] == default_keys[n] for n in kept)
    assert all(keys[n] != default_keys[n] for n in changed if n in default.stages)


def test_the_probe_set_is_held_out_from_every_training_prompt_set():
    recipe = load_recipe("default-probes")
    probes = recipe.stages["probes"]
    assert probes.phrasing == "probe" and probes.min_constraints == probes.max_constraints == 1
    training = {n for n, s in recipe.stages.items() if s.kind == "synth" and n != "probes"}
    assert set(probes.decontaminate) == training | {"ifeval", "ifbench"}
    assert [s.model for s in recipe.stages.values() if s.kind == "evaluate" and s.benchmarks == ("probes",)] == [
        "base", "model-round2"]


def test_a_probe_set_is_compared_from_the_evaluation_of_the_baselines_model(tmp_path):
    """A benchmark the baseline did not evaluate (a probe set) is compared too, from the first
    stage that evaluated the baseline's model on it; one no stage evaluated the baseline's model
    on is not compared, and neither is an evaluation not yet finished."""
    text = ('[recipe]\nbaseline = "eval-base"\n'
            '[stages.p]\nkind = "synth"\n[stages.q]\nkind = "synth"\nseed = 1\n'
            '[stages.a]\nkind = "answer"\nprompts = "p"\n[stages.s]\nkind = "make-sft"\nanswers = "a"\n'
            '[stages.t]\nkind = "train"\ndata = "s"\n[stages.m]\nkind = "export"\ntrain = "t"\n'
            '[stages.eval-base]\nkind = "evaluate"\n[stages.probes-m]\nkind = "evaluate"\nmodel = "m"\n'
            'benchmarks = ["p", "q"]\n[stages.probes-base]\nkind = "evaluate"\nbenchmarks = ["p"]\n'
            '[stages.eval-m]\nkind = "evaluate"\nmodel = "m"\n[stages.probes-m2]\nkind = "evaluate"\n'
            'model = "m"\nbenchmarks = ["p"]\n')  # fmt: skip
    recipe = load_recipe(recipe_file(tmp_path, text))
    run = RecipeRun(recipe, Workspace(out=tmp_path / "out", data=DATA))
    for name in ("eval-base", "probes-m", "probes-base", "eval-m"):  # probes-m2 not finished
        run.ws.folder(name).mkdir(parents=True)
        (run.ws.folder(name) / "stage.json").write_text("{}")
    runs = {benchmark: [name for name, _ in pairs] for benchmark, pairs in run.evaluation_runs().items()}
    assert runs == {"ifeval": ["eval-base", "eval-m"], "ifbench": ["eval-base", "eval-m"],
                    "p": ["probes-base", "probes-m"]}  # fmt: skip
    assert run.evaluation_runs()["p"][1][1] == run.ws.folder("probes-m") / "p"
    (run.ws.folder("probes-base") / "stage.json").unlink()  # the reference not finished: no comparison
    assert "p" not in run.evaluation_runs()


def test_plan_lines_say_what_a_train_stage_trains_and_a_synth_stages_layout(tmp_path):
    text = ('[stages.p]\nkind = "synth"\n[stages.a]\nkind = "answer"\nprompts = "p"\n[stages.s]\nkind = "make-sft"\n'
            'answers = "a"\n[stages.lora]\nkind = "train"\ndata = "s"\nlora_r = 8\n[stages.full]\nkind = "train"\n'
            'data = "s"\nfull = true\nepochs = 3\n')  # fmt: skip
    recipe = load_recipe(recipe_file(tmp_path, text))
    assert recipe.stages["lora"].describe() == "SFT base on s (1 epoch, LoRA r8)"
    assert recipe.stages["full"].describe() == "SFT base on s (3 epochs, every weight)"
    assert recipe.stages["p"].describe() == "synthesize 1000 prompts (seed 0, canonical)"
    layout = load_recipe(recipe_file(tmp_path, '[stages.p]\nkind = "synth"\nlayout = "varied"\n', "l.toml"))
    assert layout.stages["p"].describe() == "synthesize 1000 prompts (seed 0, canonical, varied layout)"
    assert recipe.stages["s"].describe() == "make-sft from a"
    loops = load_recipe(recipe_file(tmp_path, text.replace('answers = "a"\n', 'answers = "a"\nrepair = true\n'
                                                           'max_repetition = 0.25\n'), "r.toml"))  # fmt: skip
    assert loops.stages["s"].describe() == "make-sft from a (repair, max_repetition 0.25)"


SOUP = ('[stages.p]\nkind = "synth"\n[stages.a]\nkind = "answer"\nprompts = "p"\n[stages.s]\nkind = "make-sft"\n'
        'answers = "a"\n[stages.ta]\nkind = "train"\ndata = "s"\n[stages.tb]\nkind = "train"\ndata = "s"\nseed = 1\n'
        '[stages.soup]\nkind = "average"\ninputs = ["ta", "tb"]\n[stages.m]\nkind = "export"\ntrain = "soup"\n')  # fmt: skip


def test_an_average_stage_makes_a_soup_of_train_stages_that_an_export_stage_takes(tmp_path):
    from tests.train.test_average import deltas, lora_run

    recipe = load_recipe(recipe_file(tmp_path, SOUP))
    assert recipe.stages["soup"].describe() == "average ta + tb (a model soup)"
    ws = Workspace(out=tmp_path / "loop", data=DATA, recipe=recipe)
    for seed, name in enumerate(("ta", "tb")):
        lora_run(ws.folder(name) / "train", seed, 2, 4)
    result = recipe.stages["soup"].run(ws, ws.folder("soup"))
    assert result["models"] == 2 and result["rank"] == 4
    from adhere.report.loop import _made

    assert _made("average", result) == "2 models averaged into one adapter of rank 4"  # the report's "made" column
    # What the export stage reads: the soup's training folder, naming the base it was trained from.
    assert set(deltas(ws.folder("soup") / "train" / "final")) == set(deltas(ws.folder("ta") / "train" / "final"))
    assert json.loads((ws.folder("soup") / "train" / "train_config.json").read_text())["model"] == "local"


@pytest.mark.parametrize("change, error", [
    ('[stages.tb]\nkind = "train"\ndata = "s"\nmodel = "m0"\n[stages.m0]\nkind = "export"\ntrain = "ta"\n',
     r"\[stages.soup\] inputs: ta trains base and tb trains m0; a soup averages models fine-tuned from one model"),
    ('[stages.tb]\nkind = "train"\ndata = "s"\nfull = true\n', r"ta is LoRA and tb is every weight"),
    ('[stages.soup]\nkind = "average"\ninputs = ["ta", "ta"]\n', r"inputs must name at least 2 different stages"),
    ('[stages.soup]\nkind = "average"\ninputs = ["ta", "s"]\n', r"'s' is a make-sft stage \(it makes sft\); this takes training"),
])  # fmt: skip
def test_an_average_of_what_cannot_be_averaged_is_refused_before_any_work(tmp_path, change, error):
    base = recipe_file(tmp_path, SOUP, "base.toml")
    with pytest.raises(InputError, match=error):
        load_recipe(recipe_file(tmp_path, f'[recipe]\nextends = "{base}"\n{change}'))
