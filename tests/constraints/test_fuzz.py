"""Every checker (IFEval's, IFBench's and IFEvalG's) against arbitrary text and arbitrary kwargs of the right
types: building refuses bad kwargs with a ConstraintError; a built checker never raises and
answers within a time bound, whatever the response."""

from __future__ import annotations

import time
import typing

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adhere import build, verify
from adhere.constraints import get, ids
from adhere.constraints.base import _field_types
from adhere.errors import ConstraintError

#: Seconds one response may take against one checker, strict and loose together. A hang guard
#: (a catastrophic pattern, an unbounded loop), set far above what any check takes here.
BOUND_S = 20.0

# Any character, lone surrogates and line separators included, and markdown-ish text that
# reaches the checkers' deeper branches.
any_char = st.characters(exclude_categories=())
markdownish = st.text(
    alphabet=st.sampled_from(list("*-#[]<>\"',.!?:;|{}()\n\r\t \u2028\u0085AbcXYZ0é漢😀")), max_size=300
)
texts = st.one_of(st.text(any_char, max_size=300), markdownish)
pattern_like = st.text(alphabet=st.sampled_from(list("a*+?()[]{}|\\.^$b ")), min_size=1, max_size=12)
strings = st.one_of(st.text(any_char, max_size=20), pattern_like, st.sampled_from(["P.S.", "P.P.S", "SECTION", "en"]))


def _value(hint: typing.Any) -> st.SearchStrategy[typing.Any]:
    if hint is int:
        return st.one_of(st.integers(-3, 60), st.integers(-(10**9), 10**12))
    if hint is str:
        return strings
    if typing.get_origin(hint) is typing.Literal:
        return st.sampled_from(typing.get_args(hint))
    if typing.get_origin(hint) in (tuple, list):
        return st.lists(strings, max_size=4)
    raise AssertionError(f"no strategy for {hint!r}")


def kwargs_for(cid: str) -> st.SearchStrategy[dict[str, typing.Any]]:
    return st.fixed_dictionaries({name: _value(hint) for name, hint in _field_types(get(cid)).items()})


ALL_IDS = ids()
specs = st.sampled_from(ALL_IDS).flatmap(lambda cid: st.tuples(st.just(cid), kwargs_for(cid)))


def test_every_registered_checker_is_fuzzed():
    assert len(ALL_IDS) == 112  # 25 IFEval ids, 58 IFBench ids and 29 IFEvalG ids


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs, texts)
def test_no_exception_escapes_a_checker_and_each_answers_in_bounded_time(spec, text):
    cid, kwargs = spec
    try:
        constraint = build(cid, kwargs)
    except ConstraintError:
        return  # refused in one line when built: the rule for bad kwargs
    started = time.perf_counter()
    result = verify(text, [constraint])
    elapsed = time.perf_counter() - started
    for verdict in (*result.strict, *result.loose):
        assert isinstance(verdict.passed, bool) and isinstance(verdict.reason, str) and verdict.reason
    assert elapsed < BOUND_S, f"{cid} {kwargs} took {elapsed:.1f}s on {len(text)} characters"


@pytest.mark.parametrize("cid", ALL_IDS)
def test_each_checker_handles_hostile_responses(cid):
    """Per id, the shapes that crashed or hung checkers before: bare carriage returns, a CSV
    field past the csv module's limit, line and paragraph separators, lone surrogates, deep
    nesting, huge numbers."""
    strategy = kwargs_for(cid)
    hostile = [
        "ID,Country,City,Year,Count\r1,a,b,2000,3\r",
        '"' + "x" * 140_000 + '",b\n',
        "line one\u2028line two\u2029three\u0085four",
        "lone \ud83d surrogate",
        "[" * 5000 + "]" * 5000,
        "9" * 5000,
        "\x00\x0b\x0c\x1c\x1d\x1e",
    ]
    built = 0
    for kwargs in _examples(strategy, 60):
        try:
            constraint = build(cid, kwargs)
        except ConstraintError:
            continue
        built += 1
        for text in hostile:
            started = time.perf_counter()
            verify(text, [constraint])
            assert time.perf_counter() - started < BOUND_S
    assert built, f"no valid kwargs drawn for {cid}"


def _examples(strategy: st.SearchStrategy[typing.Any], count: int) -> list[typing.Any]:
    found: list[typing.Any] = []

    # Derandomized: the same draws on every run, so whether a valid kwargs set is among them (a
    # single letter for keywords:letter_frequency is a rare draw) cannot change from run to run.
    @settings(max_examples=count, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategy)
    def collect(value: typing.Any) -> None:
        found.append(value)

    collect()
    return found


csv_texts = st.text(alphabet=st.sampled_from(list('ab,"\t\r\n ')), max_size=60)


@settings(max_examples=3000, deadline=None)
@given(csv_texts, st.sampled_from([",", "\t"]))
def test_csv_rows_equal_the_references_wherever_the_reference_reads_the_text(text, delimiter):
    """IFBench's CSV checkers read with ``newline=""`` so that a bare carriage return ends a row
    instead of raising; on every text the reference's reader reads, the rows are the same."""
    import csv
    import io

    from adhere.constraints.ifbench.custom import _NotCsv, _rows

    try:
        expected = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error:
        try:
            _rows(text, delimiter)
        except _NotCsv:
            pass
        return
    assert _rows(text, delimiter) == expected


def test_csv_with_carriage_returns_or_a_huge_field_gets_a_verdict():
    rows = ["ID,Country,City,Year,Count"] + [f"{i},France,Paris,200{i},{i}" for i in range(1, 8)]
    assert build("custom:csv_city").check("\r".join(rows)).passed  # the reference raises here
    assert build("custom:csv_city").check("\n".join(rows)).passed
    huge = "\n".join([*rows[:7], "7,France," + "P" * 200_000 + ",2007,7"])
    assert build("custom:csv_city").check(huge).passed  # the reference raises "field larger than field limit"
    assert not build("custom:csv_city").check("ID,Country\x00,City").passed
