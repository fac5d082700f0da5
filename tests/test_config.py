"""``--config FILE.toml``: every command's options from a file, flags over the file, and the
``command.toml`` a run leaves behind runs it again."""

from __future__ import annotations

import pytest

from adhere.cli import _parser, main
from adhere.config import effective_config, parse_arguments
from tests.conftest import IFEVAL


def parse(argv):
    parser = _parser()
    return parser, parse_arguments(parser, argv)


def test_the_file_fills_what_the_flags_leave(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('max_tokens = 12\nlimit = 2\nstop = ["###"]\nno_cache = true\nmodel_options = { n_parallel = 2 }\n')
    _, args = parse(["eval", "ifeval", "--config", str(config), "--limit", "5", "-M", "n_ctx=512"])
    assert (args.max_tokens, args.limit, args.stop, args.no_cache) == (12, 5, ["###"], True)
    assert args.model_options == ["n_parallel=2", "n_ctx=512"]


def test_every_command_takes_a_config_file():
    parser = _parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    for name, command in commands.items():
        assert any("--config" in a.option_strings for a in command._actions), name


def test_out_always_names_a_file_and_out_dir_a_folder(capsys):
    import argparse

    for argv in (["eval", "ifeval", "--out", "x"], ["loop", "--out", "x"], ["score", "r.jsonl", "--out", "x"],
                 ["train", "sft", "d.jsonl", "--out", "x"]):  # fmt: skip
        with pytest.raises(SystemExit) as exited:
            _parser().parse_args(argv)
        assert exited.value.code == 2
        assert "writes a folder: name it with --out-dir DIR" in capsys.readouterr().err, argv
    with pytest.raises(SystemExit):
        _parser().parse_args(["synth", "--out-dir", "x"])
    commands = next(a for a in _parser()._actions if a.__class__.__name__ == "_SubParsersAction").choices
    for name, command in commands.items():
        for action in command._actions:
            if "--out-dir" in action.option_strings:
                assert action.metavar == "DIR", name
            elif "--out" in action.option_strings and action.help != argparse.SUPPRESS:
                assert action.metavar == "FILE", name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max_token = 12", r"c.toml: unknown key 'max_token' for adhere eval \(did you mean 'max_tokens'\?\); valid keys:"),
        ('max_tokens = "many"', r"c.toml max_tokens: expected an integer, got 'many'"),
        ("temperature = true", r"c.toml temperature: expected a number, got True"),
        ('executor = "slurm"', r"c.toml executor: must be one of local, ray, got 'slurm'"),
        ("no_cache = 1", r"c.toml no_cache: expected true or false, got 1"),
        ("model_options = 3", r"c.toml model_options: expected a table of backend options"),
        ("max_tokens = ", r"c.toml: not valid TOML"),
    ],
)
def test_a_bad_config_file_is_one_line_naming_the_file_and_key(tmp_path, capsys, text, message):
    import re

    config = tmp_path / "c.toml"
    config.write_text(text + "\n")
    assert main(["eval", "ifeval", "--config", str(config), "--out-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(message, err[0]), err
    assert not (tmp_path / "run").exists()


def test_command_toml_reruns_the_same_command(tmp_path):
    responses = IFEVAL / "input_response_data_gpt4_20231107_145030.jsonl"
    parser, args = parse(["score", str(responses), "--inputs", str(IFEVAL / "input_data.jsonl"), "--quiet",
                          "--out-dir", str(tmp_path / "a")])  # fmt: skip
    text = effective_config(parser, args)
    assert "quiet = true" in text and f'inputs = "{IFEVAL / "input_data.jsonl"}"' in text
    config = tmp_path / "command.toml"
    config.write_text(text)
    _, again = parse(["score", str(responses), "--config", str(config)])
    assert {k: v for k, v in vars(again).items() if k != "config"} == {k: v for k, v in vars(args).items() if k != "config"}


def test_a_required_option_may_come_from_the_file(tmp_path, capsys):
    """``adhere loop`` requires --out-dir: its command.toml, which names it, reruns the loop with
    nothing else given; a flag still overrides the file; a file without it leaves it required."""
    config = tmp_path / "command.toml"
    config.write_text(f'out_dir = "{tmp_path / "run"}"\nrecipe = "default"\ndry_run = true\n')
    _, args = parse(["loop", "--config", str(config)])
    assert (args.out_dir, args.dry_run) == (str(tmp_path / "run"), True)
    _, args = parse(["loop", "--config", str(config), "--out-dir", str(tmp_path / "other")])
    assert args.out_dir == str(tmp_path / "other")
    assert main(["loop", "--config", str(config)]) == 0
    assert "stages to run" in capsys.readouterr().out
    assert not (tmp_path / "run").exists()  # a dry run writes nothing
    config.write_text('recipe = "default"\n')
    with pytest.raises(SystemExit) as exited:
        parse(["loop", "--config", str(config)])
    assert exited.value.code == 2
    assert "required: --out-dir" in capsys.readouterr().err
    # the requirement is only lifted for the one parse: the parser still requires it afterwards
    parser = _parser()
    parse_arguments(parser, ["loop", "--out-dir", "x", "--config", str(config)])
    with pytest.raises(SystemExit):
        parser.parse_args(["loop"])


@pytest.mark.parametrize(
    ("command", "settings", "renamed"),
    [
        ("train", "adhere.train.settings:TrainSettings", {}),
        ("eval", "adhere.models.config:GenerationConfig", {}),
        ("eval", "adhere.models.reasoning:ReasoningSettings", {}),
        ("make-sft", "adhere.synth.settings:RowSettings", {}),
        ("make-pairs", "adhere.synth.settings:RowSettings", {}),
        ("synth", "adhere.synth.synthesize:SynthConfig", {"weights": "--weight", "ids": "--ids"}),
        ("self-instruct", "adhere.synth.self_instruct:SelfInstructConfig", {}),
        ("select", "adhere.synth.select:SelectSettings", {}),
    ],
)
def test_a_commands_flags_and_its_settings_do_not_drift(command, settings, renamed):
    """Every field of the settings a command takes has its flag, with the field's default, and the
    help shows the field's doc (a field added without a flag, or a flag default that differs from
    the library's, fails here)."""
    import importlib

    from adhere.settings import fields, flag

    module, name = settings.split(":")
    cls = getattr(importlib.import_module(module), name)
    parser = _parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices[command]
    by_flag = {option: action for action in sub._actions for option in action.option_strings}
    for field in fields(cls):
        action = by_flag.get(renamed.get(field.name, flag(field.name)))
        assert action is not None, f"adhere {command} has no flag for {name}.{field.name}"
        default = action.default if not isinstance(action.default, list) else tuple(action.default)
        assert default in (field.default, None, ()) or field.default == default, (field.name, default, field.default)
        if field.name not in renamed:
            assert field.doc in (action.help or ""), field.name

