"""adhere: measure and improve how well language models follow instructions.

The public API is listed in ``__all__``; everything else is internal and may change.
"""

from adhere.bench.items import Item, iter_items
from adhere.bench.scoring import score, score_item
from adhere.constraints import (
    Constraint,
    Evaluation,
    Verdict,
    build,
    constraint,
    get,
    ids,
    loose_variants,
    parse_instruction,
)
from adhere.constraints import evaluate as verify
from adhere.constraints.ifeval.conflicts import conflict_table, conflicts
from adhere.errors import AdhereError, ConstraintError, InputError, MissingExtraError
from adhere.evaluation import Model, evaluate
from adhere.recipe import Recipe, load_recipe, loop
from adhere.report.runs import PromptResult, Run, load_run
from adhere.bench.summary import Summary
from adhere.text.view import TextView

__version__ = "0.1.0"

__all__ = [
    "AdhereError",
    "Constraint",
    "ConstraintError",
    "Evaluation",
    "InputError",
    "Item",
    "MissingExtraError",
    "Model",
    "PromptResult",
    "Recipe",
    "Run",
    "Summary",
    "TextView",
    "Verdict",
    "__version__",
    "build",
    "conflict_table",
    "conflicts",
    "constraint",
    "evaluate",
    "get",
    "ids",
    "iter_items",
    "load_recipe",
    "load_run",
    "loop",
    "loose_variants",
    "parse_instruction",
    "score",
    "score_item",
    "verify",
]
