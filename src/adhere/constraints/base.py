"""The constraint protocol: frozen parameters, a pure ``check`` and a verdict with a reason.

A constraint class is a frozen dataclass whose fields are its kwargs (exactly IFEval's and
IFBench's kwargs names). ``from_kwargs`` validates a kwargs mapping against those fields, so a
typo or a wrong type fails loudly with the id, the key and the expected type, instead of being
filled in at random as the reference implementations do.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import re
import string
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from adhere.errors import ConstraintError
from adhere.text.view import TextView

#: IFEval's comparison relations, in its own order (`_COMPARISON_RELATION`).
Relation = Literal["less than", "at least"]


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a response follows one constraint, and why, in words a person can read."""

    passed: bool
    reason: str


class CheckGaveUp(Exception):
    """Raised inside a check that cannot decide in bounded time (a kwarg's pattern matching past
    its time limit): the verdict is "not followed", with the exception's text as the reason."""


def compare(relation: str, found: int, threshold: int) -> bool:
    """IFEval's relation test: ``less than`` is strict, ``at least`` inclusive."""
    return found < threshold if relation == "less than" else found >= threshold


def expect(relation: str, threshold: int, noun: str, found: int) -> Verdict:
    """A verdict for a counted quantity, e.g. "expected at least 300 words, found 212"."""
    passed = compare(relation, found, threshold)
    return Verdict(passed, f"expected {relation} {threshold} {noun}, found {found}")


class AllBut:
    """``conflicts_with`` of a constraint that fixes the whole answer (IFEval's JSON, two
    responses, repeating the request): it conflicts with every id adhere ships for its benchmark
    except the ``allowed`` ones."""

    __slots__ = ("allowed",)

    def __init__(self, *allowed: str):
        self.allowed = frozenset(allowed)

    def __repr__(self) -> str:
        return f"AllBut({', '.join(map(repr, sorted(self.allowed)))})"


class Constraint:
    """Base of every verifiable instruction. Subclasses are frozen dataclasses.

    ``id`` is set by the ``@constraint`` decorator; ``check`` is pure; ``describe`` renders the
    instruction sentence from the kwargs, as the reference's ``build_description`` does.
    """

    id: ClassVar[str]
    #: The instruction sentence, with ``{kwarg}`` placeholders (IFEval's ``build_description``).
    template: ClassVar[str]

    # What synthesis, rewording, repair and prompt composition need, declared with the constraint
    # (IFEval's classes and plugins' alike: adding a constraint touches its one module).
    #: ``adhere synth``: draws the kwargs from an explicit ``random.Random`` (a staticmethod);
    #: None: never synthesized.
    sample_kwargs: ClassVar[Any] = None
    #: The kwarg that quotes the rest of the prompt (the request to repeat), if any: known only
    #: once the prompt is written, so the id is drawn only where a pool names it, and the prompt's
    #: writer fills the kwarg in.
    quotes_prompt: ClassVar[str | None] = None
    #: Other wordings of ``template`` for ``--phrasing varied`` (same ``{kwarg}`` placeholders).
    other_wordings: ClassVar[tuple[str, ...]] = ()
    #: A prompt-bound constraint's wordings written *before* the request it quotes, which then
    #: follows after a blank line ("repeat the request below"), for ``--layout varied``.
    leading_wordings: ClassVar[tuple[str, ...]] = ()
    #: Wordings kept out of training, for ``--phrasing probe``: a probe set asks for the same
    #: checks in words no training prompt used, so a gain that only learnt the words shows.
    probe_wordings: ClassVar[tuple[str, ...]] = ()
    #: ``--repair``: the smallest edit ``(text, constraint) -> text or None`` that makes an answer
    #: follow it (a staticmethod); None: not repairable.
    repair_edit: ClassVar[Any] = None
    #: Where the edit comes among several (lowest first): regrouping and cutting, then what is
    #: added at the start or the end, then case and punctuation, the wrappers (quotes, JSON) last.
    repair_rank: ClassVar[int] = 1000
    #: Ids that must not be asked for in the same prompt (read both ways; each synthesizable id
    #: also conflicts with itself), or ``AllBut(...)``: every other id of adhere's own benchmark.
    conflicts_with: ClassVar[tuple[str, ...] | AllBut] = ()

    def check(self, text: str | TextView) -> Verdict:
        try:
            return self._check(text if isinstance(text, TextView) else TextView(text))
        except CheckGaveUp as error:
            return Verdict(False, f"could not check: {error}")

    def _check(self, view: TextView) -> Verdict:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        """The instruction sentence for these kwargs, worded as the reference words it."""
        names = _template_fields(type(self))
        return self.template.format(**{n: self._render_field(n, getattr(self, n)) for n in names})

    def _render_field(self, name: str, value: Any) -> str:
        if isinstance(value, tuple):
            return str(list(value))
        if isinstance(value, str):
            return value.strip()
        return str(value)

    @classmethod
    def parse(cls, sentence: str) -> Constraint | None:
        """The constraint whose ``describe()`` is ``sentence``, or ``None`` if it is not one.

        ``None`` too for a constraint whose sentence does not state all its kwargs (IFEval's
        "repeat the request" sentence does not contain the request).
        """
        pattern = _template_pattern(cls)
        match = pattern.fullmatch(sentence.strip()) if pattern is not None else None
        if match is None:
            return None
        try:
            kwargs = {name: cls._parse_field(name, text) for name, text in match.groupdict().items()}
            return cls.from_kwargs(kwargs)
        except (ConstraintError, ValueError, SyntaxError):
            return None

    @classmethod
    def _parse_field(cls, name: str, text: str) -> Any:
        hint = _field_types(cls)[name]
        if hint is int:
            return int(text)
        if typing.get_origin(hint) in (tuple, list):
            value = ast.literal_eval(text)
            if not isinstance(value, list):
                raise ValueError(text)
            return value
        return text

    def kwargs(self) -> dict[str, Any]:
        """The kwargs that rebuild this constraint (``from_kwargs(c.kwargs()) == c``)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def schema(cls) -> dict[str, str]:
        """Each kwarg's name and expected type, as shown in error messages."""
        return {name: _type_name(hint) for name, hint in _field_types(cls).items()}

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any] | None = None) -> Constraint:
        """Validate ``kwargs`` and build the constraint; ``None`` values count as absent."""
        kwargs = {k: v for k, v in (kwargs or {}).items() if v is not None}
        hints = _field_types(cls)
        fields = hints.keys()
        extra = sorted(set(kwargs) - fields)
        if extra:
            accepted = ", ".join(sorted(fields)) or "none"
            raise ConstraintError(
                f"{cls.id}: unexpected kwarg {extra[0]!r} (accepted: {accepted})"
            )
        values = {}
        for name in fields:
            if name not in kwargs:
                raise ConstraintError(
                    f"{cls.id}: missing kwarg {name!r} (expected {_type_name(hints[name])})"
                )
            values[name] = _coerce(cls.id, name, hints[name], kwargs[name])
        instance = cls(**values)
        instance._validate()
        return instance

    def _validate(self) -> None:
        """Checks across fields, beyond their types (overridden where needed)."""

    def _fail(self, key: str, message: str) -> typing.NoReturn:
        raise ConstraintError(f"{self.id}: kwarg {key!r} {message}")


@functools.cache
def _template_fields(cls: type) -> tuple[str, ...]:
    """The kwargs a class's template names, in order of first appearance."""
    names: list[str] = []
    for _, name, _, _ in string.Formatter().parse(cls.template):
        if name and name not in names:
            names.append(name)
    return tuple(names)


@functools.cache
def _template_pattern(cls: type) -> re.Pattern[str] | None:
    """A regular expression matching exactly the sentences ``describe()`` can produce."""
    fields = _field_types(cls)
    if set(_template_fields(cls)) != set(fields):
        return None
    parts, seen = [], set()
    for literal, name, _, _ in string.Formatter().parse(cls.template):
        parts.append(re.escape(literal))
        if not name:
            continue
        if name in seen:
            parts.append(f"(?P={name})")
            continue
        seen.add(name)
        hint = fields[name]
        if hint is int:
            body = r"\d+"
        elif typing.get_origin(hint) is Literal:
            body = "|".join(re.escape(v) for v in typing.get_args(hint))
        elif typing.get_origin(hint) in (tuple, list):
            body = r"\[.*?\]"
        else:
            body = r".+?"
        parts.append(f"(?P<{name}>{body})")
    return re.compile("".join(parts), re.DOTALL)


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    """Field name -> type of a constraint class, resolved once per class."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) is Literal:
        return " or ".join(repr(a) for a in typing.get_args(hint))
    if typing.get_origin(hint) in (tuple, list):
        return f"list of {_type_name(typing.get_args(hint)[0])}"
    return {int: "integer", str: "string", float: "number"}.get(hint, str(hint))


def _coerce(cid: str, key: str, hint: Any, value: Any) -> Any:
    def bad() -> typing.NoReturn:
        raise ConstraintError(
            f"{cid}: kwarg {key!r} must be {_type_name(hint)}, got {value!r}"
        )

    origin = typing.get_origin(hint)
    if origin is Literal:
        if value not in typing.get_args(hint):
            bad()
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            bad()
        (item,) = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return tuple(_coerce(cid, key, item, v) for v in value)
    if hint is int:
        # IFBench stores counts as floats (73.0): accept integral numbers, never bools.
        if isinstance(value, bool):
            bad()
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if not isinstance(value, int):
            bad()
        return value
    if hint is str:
        if not isinstance(value, str):
            bad()
        return value
    # A constraint class declared a field type this validator does not know: a bug, not input.
    raise TypeError(f"{cid}: unsupported kwarg type {hint!r} for {key!r}")
