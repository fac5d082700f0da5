"""Reading a recipe: a TOML file of parameters and named stages, checked whole before anything runs.

::

    [recipe]
    description = "one line: what the recipe does"
    baseline = "eval-base"          # the evaluate stage the others are compared with

    [params]                        # values a user may change: adhere loop --set eval_limit=200
    eval_limit = 0

    [stages.prompts]
    kind = "synth"
    count = 400
    [stages.answers]
    kind = "answer"
    prompts = "prompts"
    ...
    [stages.eval-base]
    kind = "evaluate"
    limit = "${eval_limit}"         # a parameter: the whole string is replaced by its value

Every error names the file and the key (``recipe.toml [stages.sft] repair: expected true or
false``), with the closest valid name for a misspelt one; a cycle, or a reference to a stage that
does not exist or makes the wrong thing, is refused the same way. Nothing runs until all of it is
valid.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from adhere.errors import InputError
from adhere.recipe.kinds import BASE, BENCHMARKS, KINDS, Stage, rows_kind
from adhere.settings import closest, from_table, parse_value  # noqa: F401 (parse_value: adhere.recipe exports it)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_PARAM = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
RESERVED = (*BENCHMARKS, BASE)


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A recipe with its parameters applied: stages in the order they run."""

    name: str
    source: str
    """Where it was read from (a file, or ``builtin:NAME``)."""
    description: str
    params: dict[str, Any]
    """Every parameter's value (the recipe's default, or the one given)."""
    stages: dict[str, Stage]
    """name -> stage, in dependency order (a stage after everything it reads)."""
    baseline: str | None
    """The evaluate stage the others are compared with."""

    def needs(self, name: str) -> list[str]:
        """The stages ``name`` reads directly."""
        return [ref for refs in self.stages[name].references().values() for ref in refs if ref in self.stages]

    def downstream(self, name: str) -> set[str]:
        """Every stage that reads ``name``, directly or not."""
        out: set[str] = set()
        for other in self.stages:
            if name in self.needs(other):
                out |= {other} | self.downstream(other)
        return out


def builtin_names() -> list[str]:
    """The recipes shipped with adhere (``adhere/recipes/*.toml``)."""
    folder = resources.files("adhere") / "recipes"
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def recipe_text(name_or_path: str) -> tuple[str, str]:
    """(TOML text, source) of a built-in recipe name or a file path."""
    if name_or_path.endswith(".toml") or "/" in name_or_path or Path(name_or_path).is_file():
        path = Path(name_or_path)
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except FileNotFoundError:
            raise InputError(f"{path}: no such recipe file; built-in recipes: {', '.join(builtin_names())}") from None
        except UnicodeDecodeError:
            raise InputError(f"{path}: not a UTF-8 text file; a recipe is TOML") from None
    names = builtin_names()
    if name_or_path not in names:
        raise InputError(f"unknown recipe {name_or_path!r}{closest(name_or_path, names)}; built-in recipes: "
                         f"{', '.join(names)} (or give a .toml file)")  # fmt: skip
    return (resources.files("adhere") / "recipes" / f"{name_or_path}.toml").read_text(encoding="utf-8"), \
        f"builtin:{name_or_path}"  # fmt: skip


def load_recipe(name_or_path: str, overrides: dict[str, Any] | None = None) -> Recipe:
    """Read, check and order a recipe; ``overrides`` set its parameters (``--set``)."""
    data, source = _read(name_or_path, ())
    return parse_recipe(data, source, overrides or {})


_HEAD_KEYS = ("name", "description", "baseline", "extends", "drop")


def _read(name_or_path: str, chain: tuple[str, ...]) -> tuple[dict[str, Any], str]:
    """A recipe's tables with what it ``extends`` merged in: the parent's parameters, stages and
    rounds first; the recipe's own parameters override the parent's values, a stage of its own
    replaces the parent's stage of that name whole, its ``[rounds]`` replace the parent's, and
    ``drop`` lists parent stages to leave out. ``extends`` names a built-in recipe, or a file
    (relative to the recipe that names it)."""
    try:
        text, source = recipe_text(name_or_path)
    except InputError as error:
        if not chain:
            raise
        raise InputError(f"{chain[-1]} [recipe] extends: {error}") from None
    if source in chain:
        raise InputError(f"{chain[-1]} [recipe] extends: a cycle ({' -> '.join([*chain, source])}); a recipe cannot "
                         "extend itself through others")  # fmt: skip
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{source}: not valid TOML: {error}") from None
    head = _table(data.get("recipe", {}), f"{source} [recipe]")
    if "extends" not in head:
        if "drop" in head:
            raise InputError(f"{source} [recipe] drop: only a recipe that extends another drops its stages; add "
                             "extends = NAME")  # fmt: skip
        return data, source
    parent_name = head["extends"]
    if not isinstance(parent_name, str) or not parent_name:
        raise InputError(f"{source} [recipe] extends: a built-in recipe's name or a .toml file; got {parent_name!r}")
    if not source.startswith("builtin:") and ("/" in parent_name or parent_name.endswith(".toml")):
        parent_name = str(Path(source).parent / parent_name)
    elif source.startswith("builtin:") and parent_name not in builtin_names():
        raise InputError(f"{source} [recipe] extends: {parent_name!r} is not a built-in recipe")
    parent, parent_source = _read(parent_name, (*chain, source))
    drop = head.get("drop", [])
    if not isinstance(drop, list) or not all(isinstance(n, str) for n in drop):
        raise InputError(f"{source} [recipe] drop: a list of stage names of {parent_source}; got {drop!r}")
    parent_stages = _table(parent.get("stages", {}), f"{parent_source} [stages]")
    for name in drop:
        if name not in parent_stages:
            raise InputError(f"{source} [recipe] drop: {parent_source} has no stage {name!r}"
                             f"{closest(name, parent_stages)}")  # fmt: skip
    parent_head = _table(parent.get("recipe", {}), f"{parent_source} [recipe]")
    # Every other table ([rounds]) of the recipe's own replaces the parent's.
    return {**parent, **data,
            "recipe": {**{k: v for k, v in parent_head.items() if k != "name"},
                       **{k: v for k, v in head.items() if k not in ("extends", "drop")}},
            "params": {**_table(parent.get("params", {}), f"{parent_source} [params]"),
                       **_table(data.get("params", {}), f"{source} [params]")},
            "stages": {**{n: t for n, t in parent_stages.items() if n not in drop},
                       **_table(data.get("stages", {}), f"{source} [stages]")}}, source  # fmt: skip


def parse_recipe(data: dict[str, Any], source: str, overrides: dict[str, Any]) -> Recipe:
    for key in data:
        if key not in ("recipe", "params", "stages", "rounds"):
            raise InputError(f"{source}: unknown table [{key}]{closest(key, ['recipe', 'params', 'stages', 'rounds'])}; "
                             "a recipe has [recipe], [params], [stages.NAME] and [rounds] tables")  # fmt: skip
    head = _table(data.get("recipe", {}), f"{source} [recipe]")
    if "extends" in head or "drop" in head:
        raise InputError(f"{source} [recipe]: extends and drop are resolved when a recipe is read from its file "
                         "(load_recipe), not in parsed tables")  # fmt: skip
    for key in head:
        if key not in _HEAD_KEYS:
            raise InputError(f"{source} [recipe]: unknown key {key!r}{closest(key, _HEAD_KEYS)}; valid keys: "
                             f"{', '.join(_HEAD_KEYS)}")  # fmt: skip
    params = dict(_table(data.get("params", {}), f"{source} [params]"))
    for key, value in overrides.items():
        if key not in params:
            known = ", ".join(params) or "none"
            raise InputError(f"--set {key}: {source} has no parameter {key!r}{closest(key, params)}; its parameters: {known}")
        if type(value) is not type(params[key]) and not (isinstance(params[key], float) and type(value) is int):
            raise InputError(f"--set {key}={value!r}: {source} declares {key} as {type(params[key]).__name__} "
                             f"(default {params[key]!r})")  # fmt: skip
        params[key] = value
    rounds, top_params = _rounds(data, params, source)
    tables = [(name, table, f"{source} [stages.{name}]", top_params)
              for name, table in _table(data.get("stages", {}), f"{source} [stages]").items()]  # fmt: skip
    if not tables and not rounds:
        raise InputError(f"{source}: no stages; add [stages.NAME] tables")
    stages: dict[str, Stage] = {}
    for name, table, where, where_params in [*rounds, *tables]:
        if not _NAME.fullmatch(name):
            raise InputError(f"{where}: a stage name is lowercase letters, digits, '-' and '_'")
        if name in RESERVED:
            raise InputError(f"{where}: {name!r} names a benchmark or the base model; call the stage otherwise")
        if name in stages:
            raise InputError(f"{where}: a stage {name!r} is made twice (by [rounds] and [stages]); rename one")
        table = _substitute(_table(table, where), where_params, where)
        kind = table.get("kind")
        if kind not in KINDS:
            known = KINDS.names()
            raise InputError(f"{where} kind: {'missing' if kind is None else repr(kind)}"
                             f"{closest(str(kind), known) if kind else ''}; one of {', '.join(known)}")  # fmt: skip
        stages[name] = from_table(KINDS.get(kind), table, where, ignore=("kind",))
    order = _order(stages, source)  # a cycle first: the reference checks follow references
    _check_references(stages, source)
    baseline = head.get("baseline")
    evaluations = [n for n in order if stages[n].kind == "evaluate"]
    if baseline is not None and baseline not in evaluations:
        raise InputError(f"{source} [recipe] baseline: {baseline!r} is not an evaluate stage"
                         f"{closest(str(baseline), evaluations)}")  # fmt: skip
    return Recipe(name=head.get("name") or Path(source.removeprefix("builtin:")).stem, source=source,
                  description=head.get("description", ""), params=params,
                  stages={n: stages[n] for n in order}, baseline=baseline or (evaluations[0] if evaluations else None))  # fmt: skip


_ROUND_KEYS = ("count", "first_model", "model", "stages")


def _rounds(data: dict[str, Any], params: dict[str, Any], source: str) -> tuple[list[tuple[str, Any, str, dict[str, Any]]], dict[str, Any]]:
    """The stages of ``[rounds]`` written out once per round, and the parameters the top-level
    stages see (``${last}``: the last round's model stage, where there are rounds).

    In a round's stage, a reference to another stage of ``[rounds.stages]`` means that stage of
    the same round, ``previous:NAME`` the one of the round before (left out of lists in round 1),
    and the parameters ``${round}`` (1, 2, ...) and ``${previous}`` (the model the round starts
    from: ``first_model`` in round 1, else the round before's ``model`` stage) are set. Stage
    ``NAME`` of round R is called ``NAME-rR``."""
    if "rounds" not in data:
        return [], params
    where = f"{source} [rounds]"
    head = _table(data["rounds"], where)
    for key in head:
        if key not in _ROUND_KEYS:
            raise InputError(f"{where}: unknown key {key!r}{closest(key, _ROUND_KEYS)}; valid keys: {', '.join(_ROUND_KEYS)}")
    count = _substitute(head.get("count"), params, f"{where} count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InputError(f"{where} count: how many rounds, an integer of at least 1; got {count!r}")
    templates = _table(head.get("stages", {}), f"{where} stages")
    if not templates:
        raise InputError(f"{where}: no [rounds.stages.NAME] tables")
    model = head.get("model")
    if model is not None and model not in templates:
        raise InputError(f"{where} model: {model!r} is not one of its stages{closest(str(model), templates)}; "
                         "name the export stage whose model the next round starts from")  # fmt: skip
    first = _substitute(head.get("first_model", BASE), params, f"{where} first_model")
    out = []
    for number in range(1, count + 1):
        previous = first if number == 1 else f"{model}-r{number - 1}" if model else None
        local = {**params, "round": number}
        if previous is not None:
            local["previous"] = previous
        for name, table in templates.items():
            stage_where = f"{source} [rounds.stages.{name}] (round {number})"
            table = _table(table, stage_where)
            kind = KINDS.get(table["kind"]) if table.get("kind") in KINDS else None
            renamed = dict(table)
            for ref in (kind.refs if kind is not None else ()):
                if ref.field in renamed:
                    renamed[ref.field] = _round_ref(renamed[ref.field], templates, number, ref.many, f"{stage_where} {ref.field}")
            out.append((f"{name}-r{number}", renamed, stage_where, local))
    return out, ({**params, "last": f"{model}-r{count}"} if model else params)


def _round_ref(value: Any, templates: dict[str, Any], number: int, many: bool, where: str) -> Any:
    def one(name: Any) -> Any:
        if not isinstance(name, str):
            return name
        if name.startswith("previous:"):
            target = name.removeprefix("previous:")
            if target not in templates:
                raise InputError(f"{where}: {name!r} names no stage of [rounds.stages]{closest(target, templates)}")
            return f"{target}-r{number - 1}" if number > 1 else None
        return f"{name}-r{number}" if name in templates else name

    if many and isinstance(value, list):
        return [v for v in map(one, value) if v is not None]
    got = one(value)
    if got is None:
        raise InputError(f"{where}: round 1 has no {value!r}; use it in a list (left out in round 1)")
    return got


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected a table, got {value!r}")
    return value


def _substitute(value: Any, params: dict[str, Any], where: str) -> Any:
    """``${name}`` replaced by a parameter: a whole-string reference takes the parameter's type."""
    if isinstance(value, dict):
        return {k: _substitute(v, params, f"{where} {k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, params, where) for v in value]
    if not isinstance(value, str):
        return value

    def lookup(match: re.Match[str]) -> Any:
        name = match.group(1)
        if name not in params:
            raise InputError(f"{where}: unknown parameter ${{{name}}}{closest(name, params)}; declare it in [params]")
        return params[name]

    whole = _PARAM.fullmatch(value)
    if whole:
        return lookup(whole)
    return _PARAM.sub(lambda m: str(lookup(m)), value)


def _is_spec(name: str) -> bool:
    return name == "local" or ":" in name


def _check_references(stages: dict[str, Stage], source: str) -> None:
    for name, stage in stages.items():
        for ref in type(stage).refs:
            for target in stage.references()[ref.field]:
                where = f"{source} [stages.{name}] {ref.field}"
                if "model" in ref.accepts:
                    if target == BASE or _is_spec(target):
                        continue
                elif "prompts" in ref.accepts and target in BENCHMARKS:
                    continue
                if target not in stages:
                    others = [n for n, s in stages.items() if s.product in ref.accepts or
                              (s.kind == "mix" and ("sft" in ref.accepts or "pairs" in ref.accepts))]  # fmt: skip
                    extra = {"model": [BASE], "prompts": list(BENCHMARKS)}
                    valid = others + [e for a in ref.accepts for e in extra.get(a, [])]
                    raise InputError(f"{where}: no stage {target!r} makes it{closest(target, valid)}; "
                                     f"valid here: {', '.join(valid) or 'none yet'}")  # fmt: skip
                made = rows_kind(stages, target) if stages[target].kind == "mix" else stages[target].product
                if made is None:
                    raise InputError(f"{source} [stages.{target}] inputs: mixes SFT rows with pairs; mix one kind")
                if made not in ref.accepts:
                    raise InputError(f"{where}: {target!r} is a {stages[target].kind} stage (it makes {made}); "
                                     f"this takes {' or '.join(ref.accepts)}")  # fmt: skip
            if name in stage.references()[ref.field]:
                raise InputError(f"{source} [stages.{name}] {ref.field}: a stage cannot read itself")
        focus = getattr(stage, "focus", None) if stage.kind == "synth" else None
        if focus is not None and stages[focus].prompts in BENCHMARKS:  # type: ignore[attr-defined]
            raise InputError(f"{source} [stages.{name}] focus: {focus!r} answers {stages[focus].prompts}, a "  # type: ignore[attr-defined]
                             "benchmark; focus on answers to training prompts (a synth stage's), or the data is "
                             "tuned to the test")  # fmt: skip
        if stage.kind == "average":
            trained = {target: _trained_from(stages, target) for target in stage.inputs}  # type: ignore[attr-defined]
            for what, index in (("trains", 0), ("is", 1)):
                seen = {target: found[index] for target, found in trained.items()}
                if len(set(seen.values())) > 1:
                    listed = " and ".join(f"{t} {what} {v}" for t, v in seen.items())
                    raise InputError(f"{source} [stages.{name}] inputs: {listed}; a soup averages models fine-tuned "
                                     "from one model, all LoRA or all fully trained")  # fmt: skip
        if stage.kind == "train":
            wanted = {"sft": "sft", "dpo": "pairs", "grpo": "prompts"}[stage.method]  # type: ignore[attr-defined]
            target = stages.get(stage.data)  # type: ignore[attr-defined]
            made = "prompts" if target is not None and target.product == "prompts" else rows_kind(stages, stage.data)  # type: ignore[attr-defined]
            if made != wanted:
                what = {"sft": "SFT rows", "pairs": "preference pairs", "prompts": "verifiable prompts (a synth stage)"}
                raise InputError(f"{source} [stages.{name}] data: {stage.method} trains on "  # type: ignore[attr-defined]
                                 f"{what[wanted]}, and {stage.data!r} makes {made}")  # type: ignore[attr-defined]  # fmt: skip


def _trained_from(stages: dict[str, Stage], name: str) -> tuple[str, str]:
    """(the model a train stage, or an average stage's first input, fine-tunes; "LoRA" or "every weight")."""
    stage = stages[name]
    while stage.kind == "average":
        stage = stages[stage.inputs[0]]  # type: ignore[attr-defined]
    return stage.model, "every weight" if stage.full else "LoRA"  # type: ignore[attr-defined]


def _order(stages: dict[str, Stage], source: str) -> list[str]:
    """Stages in dependency order (the file's order where free), or a cycle refused."""
    needs = {name: [ref for refs in stage.references().values() for ref in refs if ref in stages]
             for name, stage in stages.items()}  # fmt: skip
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = path[path.index(name):] + [name]
            raise InputError(f"{source}: the stages form a cycle ({' -> '.join(cycle)}); a stage must not "
                             "read what it makes itself")  # fmt: skip
        state[name] = "visiting"
        for need in needs[name]:
            visit(need, [*path, name])
        state[name] = "done"
        order.append(name)

    for name in stages:
        visit(name, [])
    return order
