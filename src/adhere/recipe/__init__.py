"""Recipes: the improvement loop as data. A recipe is a TOML file of named stages (synthesize,
answer, make rows, mix, train, export, evaluate) that ``adhere loop`` runs in dependency order,
skipping what is done and re-running what changed (``adhere.recipe.engine``)."""

from adhere.recipe.engine import RecipeRun, Reporter, Step, Workspace
from adhere.recipe.kinds import KINDS, Stage, stage_kind
from adhere.recipe.run import DEFAULT_RECIPE, loop
from adhere.recipe.spec import Recipe, builtin_names, load_recipe, parse_value

__all__ = ["DEFAULT_RECIPE", "KINDS", "Recipe", "RecipeRun", "Reporter", "Stage", "Step", "Workspace", "builtin_names", "load_recipe",
           "loop", "parse_value", "stage_kind"]
