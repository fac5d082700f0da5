"""A table of pass and fail cases per IFEval checker, with boundary counts (N-1, N, N+1)."""

from __future__ import annotations

import pytest

from adhere import build, ids

AT_LEAST, LESS_THAN = "at least", "less than"


def words(n: int) -> str:
    return " ".join(["word"] * n)


def sentences(n: int) -> str:
    return " ".join(f"This is sentence number {i}." for i in range(n))


CASES = [
    # keywords:existence: case-insensitive, substring, regex (reference quirks)
    ("keywords:existence", {"keywords": ["apple", "pie"]}, "Apple PIE is good", True),
    ("keywords:existence", {"keywords": ["apple", "pie"]}, "apple only", False),
    ("keywords:existence", {"keywords": ["cat"]}, "concatenate", True),
    # keywords:frequency
    ("keywords:frequency", {"keyword": "dog", "frequency": 3, "relation": AT_LEAST}, "dog " * 2, False),
    ("keywords:frequency", {"keyword": "dog", "frequency": 3, "relation": AT_LEAST}, "dog " * 3, True),
    ("keywords:frequency", {"keyword": "dog", "frequency": 3, "relation": AT_LEAST}, "Dog " * 4, True),
    ("keywords:frequency", {"keyword": "dog", "frequency": 3, "relation": LESS_THAN}, "dog " * 2, True),
    ("keywords:frequency", {"keyword": "dog", "frequency": 3, "relation": LESS_THAN}, "dog " * 3, False),
    ("keywords:frequency", {"keyword": " dog ", "frequency": 1, "relation": AT_LEAST}, "hotdog", True),
    # keywords:forbidden_words: whole words only
    ("keywords:forbidden_words", {"forbidden_words": ["bad"]}, "badge is fine", True),
    ("keywords:forbidden_words", {"forbidden_words": ["bad"]}, "not BAD at all", False),
    # keywords:letter_frequency
    ("keywords:letter_frequency", {"letter": "a", "let_frequency": 3, "let_relation": AT_LEAST}, "aA", False),
    ("keywords:letter_frequency", {"letter": "a", "let_frequency": 3, "let_relation": AT_LEAST}, "aAa", True),
    ("keywords:letter_frequency", {"letter": "A", "let_frequency": 3, "let_relation": LESS_THAN}, "aab", True),
    ("keywords:letter_frequency", {"letter": "a", "let_frequency": 3, "let_relation": LESS_THAN}, "aaaa", False),
    ("keywords:letter_frequency", {"letter": "#", "let_frequency": 2, "let_relation": AT_LEAST}, "##", True),
    # language:response_language
    ("language:response_language", {"language": "en"}, "This is clearly an English sentence.", True),
    ("language:response_language", {"language": "en"}, "Ceci est une phrase en français.", False),
    ("language:response_language", {"language": "fr"}, "1234 5678", True),  # undetectable: followed
    # length_constraints:number_sentences
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": AT_LEAST}, sentences(2), False),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": AT_LEAST}, sentences(3), True),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": LESS_THAN}, sentences(2), True),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": LESS_THAN}, sentences(3), False),
    ("length_constraints:number_sentences", {"num_sentences": 2, "relation": AT_LEAST}, "Mr. Smith went home.", False),
    # length_constraints:number_words
    ("length_constraints:number_words", {"num_words": 5, "relation": AT_LEAST}, words(4), False),
    ("length_constraints:number_words", {"num_words": 5, "relation": AT_LEAST}, words(5), True),
    ("length_constraints:number_words", {"num_words": 5, "relation": LESS_THAN}, words(4), True),
    ("length_constraints:number_words", {"num_words": 5, "relation": LESS_THAN}, words(6), False),
    ("length_constraints:number_words", {"num_words": 2, "relation": AT_LEAST}, "don't", True),  # \w+ splits
    # length_constraints:number_paragraphs
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "one\n***\ntwo", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 3}, "one\n***\ntwo", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 1}, "one\n***\ntwo", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "***\none\n***\ntwo\n***", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "one\n***\n***\ntwo", False),
    # length_constraints:nth_paragraph_first_word
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "Then"}, "First.\n\n\"Then, more.", True),
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"}, "First.\n\nNow more.", False),
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "then"}, "First.\n\nThen more.", False),
    # detectable_content:number_placeholders
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "[a] and [b]", True),
    ("detectable_content:number_placeholders", {"num_placeholders": 3}, "[a] and [b]", False),
    ("detectable_content:number_placeholders", {"num_placeholders": 1}, "[a\nb]", False),
    # detectable_content:postscript
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Hi.\n\nP.S. bye", True),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Hi.\n\nPS bye", False),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "x\np. p. s more", True),
    # detectable_format:number_bullet_lists
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* a\n* b", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* a\n- b\n* c", False),
    ("detectable_format:number_bullet_lists", {"num_bullets": 1}, "** bold\n* a", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 3}, "* a\n* b", False),
    # detectable_format:constrained_response
    ("detectable_format:constrained_response", {}, "My answer is yes.", True),
    ("detectable_format:constrained_response", {}, "Yes.", False),
    # detectable_format:number_highlighted_sections
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "*a* and *b*", True),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 3}, "*a* and *b*", False),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 1}, "**bold**", True),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "**bold**", False),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 1}, "* *", False),
    # detectable_format:multiple_sections
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2}, "Section 1\na\nSection 2\nb", True),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 3}, "Section 1\na\nSection 2\nb", False),
    ("detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 1}, "Section 1\na", False),
    # detectable_format:json_format
    ("detectable_format:json_format", {}, '```json\n{"a": 1}\n```', True),
    ("detectable_format:json_format", {}, '{"a": 1} trailing', False),
    # detectable_format:title
    ("detectable_format:title", {}, "<<My Title>>\ntext", True),
    ("detectable_format:title", {}, "<< >>\ntext", False),
    ("detectable_format:title", {}, "<<split\ntitle>>", False),
    # combination:two_responses
    ("combination:two_responses", {}, "first\n******\nsecond", True),
    ("combination:two_responses", {}, "same\n******\nsame", False),
    ("combination:two_responses", {}, "a\n******\n\n******\nb", False),
    # combination:repeat_prompt
    ("combination:repeat_prompt", {"prompt_to_repeat": "Say hi."}, "say HI. Hi!", True),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Say hi."}, "Sure! Say hi.", False),
    # startend:end_checker
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, 'Done. "Any other questions?"', True),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, "Any other questions? Bye", False),
    # startend:quotation
    ("startend:quotation", {}, '  "quoted"  ', True),
    ("startend:quotation", {}, '"', False),
    # change_case:capital_word_frequency
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": AT_LEAST}, "ONE two", False),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": AT_LEAST}, "ONE TWO", True),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": LESS_THAN}, "ONE two", True),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": LESS_THAN}, "ONE TWO THREE", False),
    # change_case:english_capital / english_lowercase
    ("change_case:english_capital", {}, "THIS IS AN ENGLISH SENTENCE WRITTEN IN CAPITALS.", True),
    ("change_case:english_capital", {}, "This is not all capitals.", False),
    ("change_case:english_lowercase", {}, "this is an english sentence in lowercase letters.", True),
    ("change_case:english_lowercase", {}, "this Is not.", False),
    # punctuation:no_comma
    ("punctuation:no_comma", {}, "no commas here", True),
    ("punctuation:no_comma", {}, "one, comma", False),
]


@pytest.mark.parametrize(("cid", "kwargs", "text", "expected"), CASES)
def test_case(cid, kwargs, text, expected):
    verdict = build(cid, kwargs).check(text)
    assert verdict.passed is expected, verdict.reason
    assert verdict.reason


def test_every_ifeval_id_has_pass_and_fail_cases():
    covered = {(cid, expected) for cid, _, _, expected in CASES}
    for cid in ids("ifeval"):
        assert (cid, True) in covered, cid
        assert (cid, False) in covered, cid


@pytest.mark.parametrize(
    ("cid", "kwargs", "text", "reason"),
    [
        ("punctuation:no_comma", {}, "a, b, c, d", "found 3 commas"),
        ("length_constraints:number_words", {"num_words": 300, "relation": AT_LEAST}, words(212),
         "expected at least 300 words, found 212"),
        ("detectable_content:number_placeholders", {"num_placeholders": 2}, "[x]",
         "expected at least 2 placeholders, found 1"),
        ("keywords:existence", {"keywords": ["zebra"]}, "no stripes", "missing keyword 'zebra'"),
    ],
)
def test_reasons_say_why(cid, kwargs, text, reason):
    assert build(cid, kwargs).check(text).reason == reason
