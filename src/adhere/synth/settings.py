"""Settings of making training rows, declared once: ``adhere make-sft`` and ``make-pairs`` make
their flags from them, and a recipe's make-sft and make-pairs stages take them as keys."""

from __future__ import annotations

import dataclasses

from adhere.errors import InputError
from adhere.settings import setting

CUT_OFF_BOTH = ("keep_cut_off trains towards cut-off answers as they are and end_cut_off ends them first; "
                "pass one of the two")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RowSettings:
    """How rows are made from a run's verified candidates: declared once for ``adhere make-sft``
    and ``make-pairs`` (their flags) and a recipe's make-sft and make-pairs stages."""

    repair: bool = setting(False, "for a prompt no candidate passes, also the best candidate edited by the "
                           "verifier-guided repairs, where that makes it follow every instruction")  # fmt: skip
    keep_cut_off: bool = setting(False, "also train towards answers cut off at the token limit (left out by default)")
    end_cut_off: bool = setting(False, "also end each cut-off answer where it last made sense and use that ending "
                                "as a complete candidate (its pair rejects the cut-off answer)")  # fmt: skip

    max_repetition: float | None = setting(None, "leave out answers that repeat themselves: above this share of "
                                           "repeated word 4-grams (0 to 1, e.g. 0.25) an answer is never trained "
                                           "towards")  # fmt: skip

    def check(self) -> None:
        if self.keep_cut_off and self.end_cut_off:
            raise InputError(CUT_OFF_BOTH)
        if self.max_repetition is not None and not 0 <= self.max_repetition < 1:
            raise InputError(f"max_repetition is a share of repeated word 4-grams, from 0 up to (not including) 1; "
                             f"got {self.max_repetition}")  # fmt: skip
