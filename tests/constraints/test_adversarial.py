"""No checker hangs: adversarial text is handled in time linear in its length.

Several of the reference's regular expressions backtrack quadratically (a line of 10 million
``[`` never finishes there); NLTK >= 3.10 even raises TimeoutError after 5 s on such input.
These tests compare the time on a text with the time on one four times longer (linear: about
4x; quadratic: about 16x), and score real 10 MB responses against all 25 constraints.
"""

from __future__ import annotations

import time

import pytest

from adhere import build, ids, verify

KWARGS = {
    "keywords:existence": {"keywords": ["cat"]},
    "keywords:frequency": {"keyword": "cat", "frequency": 2, "relation": "at least"},
    "keywords:forbidden_words": {"forbidden_words": ["dog"]},
    "keywords:letter_frequency": {"letter": "a", "let_frequency": 3, "let_relation": "less than"},
    "language:response_language": {"language": "en"},
    "length_constraints:number_sentences": {"num_sentences": 3, "relation": "at least"},
    "length_constraints:number_paragraphs": {"num_paragraphs": 3},
    "length_constraints:number_words": {"num_words": 3, "relation": "less than"},
    "length_constraints:nth_paragraph_first_word": {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "the"},
    "detectable_content:number_placeholders": {"num_placeholders": 2},
    "detectable_content:postscript": {"postscript_marker": "P.S."},
    "detectable_format:number_bullet_lists": {"num_bullets": 3},
    "detectable_format:number_highlighted_sections": {"num_highlights": 2},
    "detectable_format:multiple_sections": {"section_spliter": "Section", "num_sections": 2},
    "combination:repeat_prompt": {"prompt_to_repeat": "Say hi"},
    "startend:end_checker": {"end_phrase": "Bye."},
    "change_case:capital_word_frequency": {"capital_frequency": 2, "capital_relation": "at least"},
}  # fmt: skip
CONSTRAINTS = [build(cid, KWARGS.get(cid, {})) for cid in ids("ifeval")]

PATTERNS = {
    "stars": "*",
    "brackets": "[",
    "angles": "<",
    "newlines": "\n",
    "blank lines then star": " \n",
    "dash lines": "\n-",
    "bracket lines": "[\n",
    "title openers": "<<\n",
    "quotes": '"',
    "dots": ". ",
    "unicode": "é漢字😀 \u2003",
    "markdown mix": "*[<<\n- ",
    "prose": "Hello world. This is Mr. Smith! ",
    "capitals": "ABC DEF. ",
    "sections": "Section 1 ",
}


def repeat(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


def best_of(runs: int, fn) -> float:
    """The least CPU time this process spent on ``fn`` in ``runs`` calls: other processes on the
    machine do not count, so a busy machine does not make a linear checker look quadratic."""
    times = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def scales_badly(check, small: str, large: str, runs: int) -> tuple[float, float] | None:
    t_small = best_of(runs, lambda: check(small))
    t_large = best_of(runs, lambda: check(large))
    # Ignore noise-level timings; a quadratic checker takes >~16x here, a linear one ~4x.
    if t_large > 0.02 and t_large > 10 * max(t_small, 1e-4):
        return round(t_small, 4), round(t_large, 4)
    return None


@pytest.mark.parametrize("unit", PATTERNS.values(), ids=PATTERNS.keys())
def test_every_checker_scales_linearly(unit):
    small, large = repeat(unit, 20_000), repeat(unit, 80_000)
    slow = []
    for constraint in CONSTRAINTS:
        # A checker that looks slow is timed again, more often: a quadratic one is >10x every time.
        if scales_badly(constraint.check, small, large, 3) and (times := scales_badly(constraint.check, small, large, 7)):
            slow.append((constraint.id, *times))
    assert slow == []


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("unit", ["*", "[", "\n", "é漢字😀 "], ids=["stars", "brackets", "newlines", "unicode"])
def test_ten_megabyte_responses_finish(unit):
    text = repeat(unit, 10_000_000)
    result = verify(text, CONSTRAINTS)
    assert len(result.loose) == len(CONSTRAINTS)
