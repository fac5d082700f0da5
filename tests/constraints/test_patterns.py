"""The linear-time scanners give exactly what the reference's regular expressions give."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from adhere.constraints.ifeval.patterns import count_line_items, count_placeholders, titles

# Texts over the characters these patterns care about, plus some whitespace and letters.
texts = st.text(alphabet=st.sampled_from(list("*-[]<>\n \t\r\u2003ab")), max_size=60)


@settings(max_examples=3000, deadline=None)
@given(texts)
def test_placeholders_equal_the_reference_regex(text):
    assert count_placeholders(text) == len(re.findall(r"\[.*?\]", text))


@settings(max_examples=3000, deadline=None)
@given(texts)
def test_star_bullets_equal_the_reference_regex(text):
    expected = len(re.findall(r"^\s*\*[^\*].*$", text, flags=re.MULTILINE))
    assert count_line_items(text, "*", "*") == expected


@settings(max_examples=3000, deadline=None)
@given(texts)
def test_dash_bullets_equal_the_reference_regex(text):
    expected = len(re.findall(r"^\s*-.*$", text, flags=re.MULTILINE))
    assert count_line_items(text, "-", None) == expected


@settings(max_examples=3000, deadline=None)
@given(texts)
def test_titles_equal_the_reference_regex(text):
    assert titles(text) == re.findall(r"<<[^\n]+>>", text)


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("pPsS. \n\tx")), max_size=30))
def test_postscript_search_equals_the_reference_findall(text):
    from adhere import build

    lowered = text.lower()
    for marker, pattern in (
        ("P.S.", r"\s*p\.\s?s\..*$"),
        ("P.P.S", r"\s*p\.\s?p\.\s?s.*$"),
        ("PS", r"\s*ps.*$"),
    ):
        expected = bool(re.findall(pattern, lowered, flags=re.MULTILINE))
        verdict = build("detectable_content:postscript", {"postscript_marker": marker}).check(text)
        assert verdict.passed == expected
