"""IFEval's 25 verifiable instructions (Zhou et al., 2023), reference-exact.

One module per instruction family, ids as in IFEval (``group:name``). The reference is
google-research ``instruction_following_eval`` (identical to lm-evaluation-harness's ``ifeval``
task). Where it behaves oddly we reproduce it on purpose and say so beside the code.
"""

from adhere.constraints.ifeval import (  # noqa: F401  (imported to register the constraints)
    change_case,
    combination,
    content,
    format,
    keywords,
    language,
    length,
    punctuation,
    startend,
)
from adhere.constraints.ifeval.conflicts import conflict_table, conflicts

__all__ = ["conflict_table", "conflicts"]
