"""Typed settings: dataclasses whose fields carry a one-line doc, read from TOML tables with errors
that name the file, the key and what to do.

A settings class is a frozen dataclass whose fields are made with :func:`setting`. The field's
annotation is its type (``int``, ``float``, ``bool``, ``str``, one of those ``| None``,
``tuple[str, ...]`` or a table ``tuple[tuple[str, float], ...]``, pairs kept in order so that
the dataclass stays hashable), its default the value a table may leave out, and its
doc the line ``--help``, ``--dry-run`` and the docs show. :func:`from_table` builds one from a
TOML table: an unknown key is refused with the closest valid one, a value of the wrong type with
the type expected; a class may add its own range checks in ``check()``.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import sys
import typing
from collections.abc import Iterable
from typing import Any, TypeVar

from adhere.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

T = TypeVar("T")


def setting(default: Any, doc: str, *, choices: tuple[Any, ...] | None = None) -> Any:
    """A settings field: its default, one line of doc, and optionally the values it may take."""
    if isinstance(default, (list, dict)):
        raise TypeError("use a tuple (or MappingProxyType) default; lists and dicts are shared")
    return dataclasses.field(default=default, metadata={"doc": doc, "choices": choices})


def required(doc: str) -> Any:
    """A settings field a table must give."""
    return dataclasses.field(metadata={"doc": doc, "choices": None})


@dataclasses.dataclass(frozen=True)
class Field:
    name: str
    type: str
    default: Any
    doc: str
    choices: tuple[Any, ...] | None
    required: bool


@functools.cache
def fields(cls: type) -> tuple[Field, ...]:
    """The documented fields of a settings class, in declaration order."""
    hints = typing.get_type_hints(cls)
    out = []
    for field in dataclasses.fields(cls):
        if "doc" not in field.metadata:
            continue
        missing = field.default is dataclasses.MISSING
        out.append(Field(field.name, _type_name(hints[field.name]), None if missing else field.default,
                         field.metadata["doc"], field.metadata["choices"], missing))  # fmt: skip
    return tuple(out)


def _is_table(hint: Any) -> bool:
    """``tuple[tuple[str, X], ...]``: a TOML table of X, kept as ordered pairs."""
    args = typing.get_args(hint)
    return typing.get_origin(hint) is tuple and bool(args) and typing.get_origin(args[0]) is tuple


def _type_name(hint: Any) -> str:
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if _is_table(hint):
        return f"table of {_type_name(typing.get_args(args[0])[1])}"
    if origin is tuple:
        return f"list of {_type_name(args[0])}"
    if args and type(None) in args:
        return f"{_type_name(next(a for a in args if a is not type(None)))} (optional)"
    return {int: "integer", float: "number", bool: "true/false", str: "string", Any: "value"}.get(hint, str(hint))


def closest(name: str, known: typing.Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the known name closest to ``name``, else ''."""
    match = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _convert(value: Any, hint: Any, where: str) -> Any:
    """``value`` as ``hint``, or an InputError naming ``where``."""
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if args and type(None) in args and origin is not tuple:
        return _convert(value, next(a for a in args if a is not type(None)), where)
    if _is_table(hint):
        item = typing.get_args(args[0])[1]
        if not isinstance(value, dict):
            raise InputError(f"{where}: expected a table of {_type_name(item)}s, got {value!r}")
        return tuple((str(k), value_ if item is Any else _convert(value_, item, f"{where}.{k}")) for k, value_ in value.items())
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise InputError(f"{where}: expected a list, got {value!r}")
        return tuple(_convert(item, args[0], f"{where}[{i}]") for i, item in enumerate(value))
    if hint is bool:
        if not isinstance(value, bool):
            raise InputError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise InputError(f"{where}: expected a string, got {value!r}")
        return value
    raise TypeError(f"unsupported settings type {hint!r}")


def from_table(cls: type[T], table: dict[str, Any], where: str, *, ignore: tuple[str, ...] = ()) -> T:
    """An instance of the settings class ``cls`` from a TOML table; ``where`` names the table in
    errors (``recipe.toml [stages.sft]``). Keys in ``ignore`` are the caller's own."""
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in table.items():
        if key in ignore:
            continue
        if key not in known:
            raise InputError(f"{where}: unknown key {key!r}{closest(key, known)}; "
                             f"valid keys: {', '.join(known)}")  # fmt: skip
        converted = _convert(value, hints[key], f"{where} {key}")
        choices = known[key].choices
        if choices is not None and converted not in choices:
            raise InputError(f"{where} {key}: must be one of {', '.join(map(str, choices))}, got {value!r}")
        values[key] = converted
    for name, field in known.items():
        if field.required and name not in values:
            raise InputError(f"{where}: {name!r} is required ({field.doc})")
    try:
        instance = cls(**values)  # a class may check its values as it is made (__post_init__)
    except InputError as error:
        raise InputError(f"{where}: {error}") from None
    check = getattr(instance, "check", None)
    if check is not None:
        try:
            check()
        except InputError as error:
            raise InputError(f"{where}: {error}") from None
    return instance


def changed_table(instance: Any) -> dict[str, Any]:
    """:func:`to_table` of the fields that differ from their defaults (required ones always)."""
    hints = typing.get_type_hints(type(instance))
    out = {}
    for field in fields(type(instance)):
        value = getattr(instance, field.name)
        if field.required or value != field.default:
            out[field.name] = None if value is None else dict(value) if _is_table(hints[field.name]) else \
                list(value) if isinstance(value, tuple) else value  # fmt: skip
    return out


def to_table(instance: Any) -> dict[str, Any]:
    """Every documented field of a settings instance as TOML holds it (None left out, tuples of
    pairs as tables)."""
    table: dict[str, Any] = {}
    hints = typing.get_type_hints(type(instance))
    for field in fields(type(instance)):
        value = getattr(instance, field.name)
        if value is None:
            continue
        if _is_table(hints[field.name]):
            value = dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        table[field.name] = value
    return table


def flag(name: str) -> str:
    """The command-line flag of a settings field."""
    return "--" + name.replace("_", "-")


def add_arguments(parser: Any, cls: type, *, exclude: tuple[str, ...] = ()) -> None:
    """One flag per field of the settings class ``cls``: its type, default and doc as argparse's
    ``type``, ``default`` and ``help``. A command's flags made this way cannot drift from the
    settings the library takes."""
    import argparse

    hints = typing.get_type_hints(cls)
    for field in fields(cls):
        if field.name in exclude:
            continue
        hint = hints[field.name]
        args = typing.get_args(hint)
        base = next((a for a in args if a is not type(None)), hint) if args and typing.get_origin(hint) is not tuple else hint
        kwargs: dict[str, Any] = {"dest": field.name, "default": field.default}
        quiet = field.default is None or field.default is False or field.default == ()
        shown = field.doc + ("" if quiet else f" (default {field.default})")
        if base is bool:
            kwargs["action"] = argparse.BooleanOptionalAction if field.default is None else "store_true"
        elif typing.get_origin(hint) is tuple:
            kwargs.update(action="append", default=None, metavar=field.name.upper())
        else:
            kwargs.update(type=base, metavar={int: "N", float: "X"}.get(base, "TEXT"))
            if field.choices:
                kwargs["choices"] = field.choices
        parser.add_argument(flag(field.name), help=shown, **kwargs)


def from_arguments(cls: type[T], args: Any, **extra: Any) -> T:
    """An instance of ``cls`` from the flags :func:`add_arguments` made (and ``extra`` fields)."""
    values = {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}
    for name, value in values.items():
        if isinstance(value, list):
            values[name] = tuple(value)
        elif value is None and name in {f.name for f in fields(cls)} and isinstance(_default(cls, name), tuple):
            values[name] = _default(cls, name)
    return cls(**{**values, **extra})


def _default(cls: type, name: str) -> Any:
    return next(f.default for f in fields(cls) if f.name == name)


def parse_value(text: str) -> Any:
    """A value given on the command line: a TOML value (``200``, ``true``, ``1e-3``, ``"a b"``,
    ``["a", "b"]``), else the text itself."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_assignments(items: Iterable[str], option: str, form: str = "KEY=VALUE") -> dict[str, Any]:
    """``KEY=VALUE`` items (``-M``, ``--set``) as a dict, values read by :func:`parse_value`; a
    later key overrides an earlier one."""
    out = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise InputError(f"{option} takes {form}, got {item!r}")
        out[key.strip()] = parse_value(value.strip())
    return out


def toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def toml_value(value: Any) -> str:
    """``value`` written as TOML reads it back (strings as basic strings, tables inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")
