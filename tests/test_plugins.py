"""A third-party package extends adhere through the ``adhere.plugins`` entry point: the tiny plugin
under tests/plugin is installed (pip, into a folder of its own) and its constraint, backend,
strategy and recipe stage kind are used from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = Path(__file__).parent / "plugin"


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                           "--target", str(target), str(PLUGIN)], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(target), os.environ.get("PYTHONPATH")]))}


def adhere(env, *args):
    return subprocess.run([sys.executable, "-m", "adhere.cli", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_the_plugins_constraint_backend_and_strategy_work_from_the_cli(plugin_env, tmp_path):
    listed = adhere(plugin_env, "constraints", "--benchmark", "example")
    assert listed.returncode == 0 and "example:no_exclamation" in listed.stdout

    rows = [{"key": 1, "prompt": "say hi", "instruction_id_list": ["example:no_exclamation"], "kwargs": [{}],
             "response": "hi!"},
            {"key": 2, "prompt": "say hi", "instruction_id_list": ["example:no_exclamation"], "kwargs": [{}],
             "response": "hi"}]  # fmt: skip
    responses = tmp_path / "responses.jsonl"
    responses.write_text("".join(json.dumps(row) + "\n" for row in rows))
    scored = adhere(plugin_env, "score", responses, "--out-dir", tmp_path / "scored")
    assert scored.returncode == 0, scored.stderr
    verdicts = [json.loads(line) for line in (tmp_path / "scored" / "verdicts.jsonl").read_text().splitlines()]
    assert [v["strict"]["reasons"] for v in verdicts] == [["found 1 exclamation marks"], ["no exclamation marks"]]

    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({k: row[k] for k in ("key", "prompt", "instruction_id_list", "kwargs")}) + "\n"
                               for row in rows))  # fmt: skip
    run = adhere(plugin_env, "eval", "ifeval", "--model", "echo:loud", "-M", 'suffix=" ok"', "--data", prompts,
                 "--strategy", "first", "--out-dir", tmp_path / "run", "--no-cache")
    assert run.returncode == 0, run.stderr
    answers = [json.loads(line) for line in (tmp_path / "run" / "responses.jsonl").read_text().splitlines()]
    assert {a["response"] for a in answers} == {"SAY HI ok"} and {a["strategy"] for a in answers} == {"first"}
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["backend_options"] == {"suffix": " ok"} and config["model_identity"]["backend"] == "echo"
    own = adhere(plugin_env, "eval", "example", "--model", "echo:loud", "--data", prompts, "--out-dir", tmp_path / "own",
                 "--no-cache")
    assert own.returncode == 0, own.stderr
    assert json.loads((tmp_path / "own" / "summary.json").read_text())["benchmark"] == "example"
    no_hub = adhere(plugin_env, "eval", "example", "--model", "echo:loud", "--out-dir", tmp_path / "no-hub")
    assert no_hub.returncode == 2 and "example has no Hub copy; pass --data PATH" in no_hub.stderr
    bad = adhere(plugin_env, "eval", "ifeval", "--model", "echo:loud", "-M", "sufix=x", "--data", prompts,
                 "--out-dir", tmp_path / "bad")
    assert bad.returncode == 2 and "unknown key 'sufix' (did you mean 'suffix'?)" in bad.stderr


def test_the_plugins_constraint_is_synthesized_reworded_repaired_and_kept_apart(plugin_env, tmp_path):
    out = tmp_path / "prompts.jsonl"
    done = adhere(plugin_env, "synth", "--ids", "example:no_exclamation,startend:end_checker,punctuation:no_comma",
                  "--count", "60", "--seed", "3", "--phrasing", "varied", "--max-constraints", "2", "--out", out)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    with_it = [row for row in rows if "example:no_exclamation" in row["instruction_id_list"]]
    assert with_it and not any("startend:end_checker" in row["instruction_id_list"] for row in with_it)
    assert any("Keep your answer free of exclamation marks." in row["prompt"] for row in with_it)
    assert any("Do not use any exclamation marks in your response." in row["prompt"] for row in with_it)
    code = ("from adhere import build; from adhere.improve.repair import repair; "
            "print(repr(repair('Hi! Wow, great!', [build('example:no_exclamation'), build('punctuation:no_comma')])))")
    repaired = subprocess.run([sys.executable, "-c", code], env=plugin_env, capture_output=True, text=True)
    assert repaired.stdout.strip() == "'Hi. Wow great.'", repaired.stderr


def test_the_plugins_stage_kind_runs_in_a_recipe(plugin_env, tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('[stages.hello]\nkind = "note"\ntext = "from a plugin"\n')
    done = adhere(plugin_env, "loop", "--recipe", recipe, "--out-dir", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "hello" / "note.txt").read_text() == "from a plugin"


def test_without_the_plugin_its_names_are_unknown(tmp_path):
    run = adhere(dict(os.environ), "eval", "ifeval", "--model", "echo:loud", "--out-dir", tmp_path / "x")
    assert run.returncode == 2 and "unknown model spec 'echo:loud'" in run.stderr


def test_a_plugin_that_fails_to_import_is_one_line(tmp_path):
    site = tmp_path / "site"
    (site / "broken_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "broken_plugin-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (site / "broken_plugin-0.1.dist-info" / "entry_points.txt").write_text("[adhere.plugins]\nbroken = broken_plugin\n")
    (site / "broken_plugin.py").write_text("raise RuntimeError('half-installed')\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = adhere(env, "constraints")
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1
    assert "adhere plugin 'broken' (broken_plugin) failed to load: RuntimeError: half-installed" in run.stderr
