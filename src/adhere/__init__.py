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
    evaluate,
    get,
    ids,
    loose_variants,
    parse_instruction,
)
from adhere.constraints.ifeval.conflicts import conflict_table, conflicts
from adhere.errors import AdhereError, ConstraintError, InputError, MissingExtraError
from adhere.report.summary import Summary
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
    "loose_variants",
    "parse_instruction",
    "score",
    "score_item",
]
