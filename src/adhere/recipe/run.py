"""``adhere loop``: a model improves its own instruction following with the verifiers, by a recipe.

A recipe (``adhere/recipes/*.toml``, or any TOML file) names the stages: synthesize verifiable
prompts decontaminated against IFEval and IFBench, answer and verify them, make SFT rows or
preference pairs, mix them, train (LoRA SFT or DPO), export a GGUF for llama.cpp, and evaluate.
``default`` is the recipe that measured +11.5 points of IFEval prompt strict on the bundled model
(docs/experiments.md). See ``adhere.recipe`` for the format and how a run resumes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adhere.recipe.engine import RecipeRun, Reporter, Workspace
from adhere.recipe.spec import Recipe, load_recipe

DEFAULT_RECIPE = "default"


def loop(
    recipe: str | Recipe = DEFAULT_RECIPE,
    out: str | Path = "runs/loop",
    *,
    model: str = "local",
    params: dict[str, Any] | None = None,
    ifeval_data: str | None = None,
    ifbench_data: str | None = None,
    cache: Any = None,
    executor: Any = None,
    reporter: Reporter | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Run ``recipe`` (a built-in name, a TOML path or a loaded :class:`Recipe`) into ``out``:
    every stage that is not done yet, then the report. Returns what ``loop.json`` holds, or with
    ``dry_run`` the plan (``{"stages": [{"name", "kind", "does", "status", "key"}]}``) without
    writing anything.

    ``model`` is the base model (``local`` or ``gguf:PATH``); ``params`` set the recipe's
    parameters; ``ifeval_data`` / ``ifbench_data`` are local copies of the benchmarks (default:
    the Hugging Face Hub); ``cache`` a :class:`adhere.models.cache.ResponseCache`."""
    from adhere.models.base import parse_spec

    if isinstance(recipe, str):
        recipe = load_recipe(recipe, params)
    elif params:
        raise TypeError("params apply to a recipe name or path; a loaded Recipe has its parameters already")
    if parse_spec(model)[0] not in ("local", "gguf"):
        from adhere.errors import InputError

        raise InputError(f"the loop trains and runs a GGUF model: --model local or gguf:PATH, got {model!r}")
    ws = Workspace(out=Path(out), model=model, data={"ifeval": ifeval_data, "ifbench": ifbench_data}, cache=cache,
                   executor=executor, reporter=reporter or Reporter())  # fmt: skip
    run = RecipeRun(recipe, ws)
    if dry_run:
        return {"recipe": recipe.source, "out": str(run.out),
                "stages": [{"name": s.name, "kind": s.stage.kind, "does": s.stage.describe(), "status": s.status,
                            "key": s.key, "needs": recipe.needs(s.name)} for s in run.plan()]}  # fmt: skip
    return run.run()
