"""IFBench's 58 out-of-domain verifiable instructions (Pyatkin et al., 2025), reference-exact.

Ids and kwargs as in allenai/IFBench's data (``count:word_count_range`` ...). The reference is
``ifbench/instructions.py`` at allenai/IFBench db69a6f. Its checkers have many quirks (character
trigrams, a list mutated while iterated, "or" found inside words); adhere reproduces each on
purpose, with a comment beside the code, so that scores match the reference's exactly.
"""

from adhere.constraints.ifbench import (  # noqa: F401  (imported to register the constraints)
    count,
    custom,
    format,
    ratio,
    repeat,
    sentence,
    words,
)
