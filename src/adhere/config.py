"""``--config FILE.toml``: a command's options from a file. The file's keys are the command's
options as argparse stores them (``--max-tokens`` is ``max_tokens``; ``-M`` options are the table
``model_options``); a flag given on the command line overrides the file; an unknown key, or a
value of the wrong type, is one line naming the file and the key."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from adhere.errors import InputError
from adhere.settings import closest, parse_assignments, toml_value

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: Options a config file cannot set: the file itself, help, and options that only refuse (a
#: folder command's ``--out``); arguments given by position are not options.
_NOT_FROM_FILE = ("config", "help", argparse.SUPPRESS)


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    for action in parser._actions:  # noqa: SLF001 (argparse keeps its subparsers here)
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return action.choices[command]
    raise KeyError(command)


@contextmanager
def _optional(actions: list[argparse.Action]) -> Iterator[None]:
    """``actions`` not required while the block parses (argparse checks them as it parses)."""
    saved = [action.required for action in actions]
    try:
        for action in actions:
            action.required = False
        yield
    finally:
        for action, required in zip(actions, saved):
            action.required = required


def _given(sub: argparse.ArgumentParser, argv: list[str]) -> set[str]:
    """The options ``argv`` gave explicitly: parsed again with every default suppressed."""
    saved = {action: action.default for action in sub._actions}  # noqa: SLF001
    try:
        for action in sub._actions:  # noqa: SLF001
            action.default = argparse.SUPPRESS
        with _optional([action for action in sub._actions if action.option_strings]):  # noqa: SLF001
            namespace, _ = sub.parse_known_args(argv)
    finally:
        for action, default in saved.items():
            action.default = default
    return set(vars(namespace))


def _convert(action: argparse.Action, value: Any, where: str) -> Any:
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):  # noqa: SLF001
        if not isinstance(value, bool):
            raise InputError(f"{where}: expected true or false, got {value!r}")
        return value
    if isinstance(action, argparse.BooleanOptionalAction):
        if not isinstance(value, bool):
            raise InputError(f"{where}: expected true or false, got {value!r}")
        return value
    if isinstance(action, argparse._AppendAction):  # noqa: SLF001
        items = value if isinstance(value, list) else [value]
        return [_convert_one(action, item, where) for item in items]
    return _convert_one(action, value, where)


def _convert_one(action: argparse.Action, value: Any, where: str) -> Any:
    kind = action.type or str
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise InputError(f"{where}: expected an integer, got {value!r}")
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{where}: expected a number, got {value!r}")
        value = float(value)
    if kind is str and not isinstance(value, str):
        raise InputError(f"{where}: expected a string, got {value!r}")
    if action.choices is not None and value not in action.choices:
        raise InputError(f"{where}: must be one of {', '.join(map(str, action.choices))}, got {value!r}")
    return value


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"--config {path}: no such file") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InputError(f"{path}: not valid TOML: {error}") from None


def parse_arguments(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """``parser.parse_args(argv)`` with ``--config FILE.toml`` applied: an option the command
    requires (``adhere loop --out-dir``) may come from the file, so a run's ``command.toml`` reruns
    it with nothing else given; one the file lacks is still required on the command line."""
    sub_parsers = [sub for action in parser._actions if isinstance(action, argparse._SubParsersAction)  # noqa: SLF001
                   for sub in action.choices.values()]  # fmt: skip
    options = [action for sub in sub_parsers for action in sub._actions  # noqa: SLF001
               if action.option_strings and action.required]  # fmt: skip
    with _optional(options):  # first only the command and its --config file
        first, _ = parser.parse_known_args(argv)
    if not getattr(first, "config", None):
        return parser.parse_args(argv)
    data = _read(Path(first.config))
    sub = _subparser(parser, first.command)
    with _optional([action for action in options if action in sub._actions and action.dest in data]):  # noqa: SLF001
        args = parser.parse_args(argv)
    apply_config(parser, args, argv, data)
    return args


def apply_config(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str],
                 data: dict[str, Any]) -> None:  # fmt: skip
    """Fill ``args`` from ``data``, the file ``args.config`` read, where ``argv`` did not give the
    option."""
    path = Path(args.config)
    sub = _subparser(parser, args.command)
    position = argv.index(args.command) if args.command in argv else 0
    given = _given(sub, argv[position + 1:])
    options = {action.dest: action for action in sub._actions  # noqa: SLF001
               if action.option_strings and action.dest not in _NOT_FROM_FILE}  # fmt: skip
    for key, value in data.items():
        where = f"{path} {key}"
        if key not in options:
            raise InputError(f"{path}: unknown key {key!r} for adhere {args.command}{closest(key, options)}; "
                             f"valid keys: {', '.join(options)}")  # fmt: skip
        if key == "model_options":  # merged key by key: -M KEY=VALUE overrides the file's KEY
            if not isinstance(value, dict):
                raise InputError(f"{where}: expected a table of backend options, e.g. model_options = {{ n_ctx = 4096 }}")
            args.model_options = [f"{k}={toml_value(v)}" for k, v in value.items()] + list(args.model_options)
            continue
        if key in given:
            continue
        setattr(args, key, _convert(options[key], value, where))


def effective_config(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    """``args`` as a config file (every option of the command, None left out): ``--config`` of it
    runs the same command again."""
    sub = _subparser(parser, args.command)
    lines = [f"# adhere {args.command}: every option as it ran; rerun with --config of this file"]
    positionals = [a.dest for a in sub._actions if not a.option_strings and a.dest != "help"]  # noqa: SLF001
    if positionals:
        lines.append("# given by position: " + " ".join(str(getattr(args, d)) for d in positionals))
    for action in sub._actions:  # noqa: SLF001
        if not action.option_strings or action.dest in _NOT_FROM_FILE:
            continue
        value = getattr(args, action.dest, None)
        if value is None or value == []:
            continue
        if action.dest == "model_options":
            value = parse_assignments(value, "-M")
        lines.append(f"{action.dest} = {toml_value(value)}")
    return "\n".join(lines) + "\n"
