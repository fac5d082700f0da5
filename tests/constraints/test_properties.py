"""Invariants on arbitrary text: no checker raises; loose never does worse than strict."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adhere import build, verify
from adhere.constraints.evaluate import loose_variants
from tests.constraints.test_registry import specs

markdownish = st.text(alphabet=st.sampled_from(list("*-#[]<>\"',.!?:;\n \tAbcXYZ0é漢😀")), max_size=200)
any_text = st.one_of(st.text(max_size=200), markdownish)


@settings(max_examples=1500, deadline=None)
@given(specs, any_text)
def test_no_checker_raises_on_arbitrary_text(spec, text):
    cid, kwargs = spec
    verdict = build(cid, kwargs).check(text)
    assert isinstance(verdict.passed, bool)
    assert verdict.reason


@settings(max_examples=300, deadline=None)
@given(st.lists(specs, min_size=1, max_size=4), any_text)
def test_loose_is_at_least_strict_and_empty_fails(spec_list, text):
    constraints = [build(cid, kw) for cid, kw in spec_list]
    result = verify(text, constraints)
    assert len(result.strict) == len(result.loose) == len(constraints)
    for strict, loose in zip(result.strict, result.loose):
        assert loose.passed or not strict.passed
    if not text.strip():
        assert not any(v.passed for v in result.strict + result.loose)


@settings(max_examples=300, deadline=None)
@given(st.lists(specs, min_size=1, max_size=3), markdownish)
def test_loose_equals_checking_each_variant_without_shortcuts(spec_list, text):
    # The reference's definition, spelled out: followed if any non-empty variant follows.
    constraints = [build(cid, kw) for cid, kw in spec_list]
    result = verify(text, constraints)
    variants = loose_variants(text)
    for constraint, loose in zip(constraints, result.loose):
        expected = any(v.strip() and constraint.check(v).passed for v in variants)
        assert loose.passed == bool(expected)
