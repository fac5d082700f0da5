"""IFEvalG's 29 training constraints (open-instruct's ``open_instruct/IFEvalG/instructions.py``):
each checker on cases that pin the reference's behaviour, quirks included, and the family's
sentence splitter, conflicts and kwargs draws."""

from __future__ import annotations

import random

import pytest

from adhere.constraints.ifeval.conflicts import conflicts
from adhere.constraints.ifevalg.sentences import split_into_sentences
from adhere.constraints.registry import build, ids
from adhere.constraints.sampling import sample_compatible, samplers
from adhere.errors import ConstraintError

PHRASE = "The early bird catches the worm"

# (id, kwargs, response, followed): each line a behaviour of the reference's checker.
CASES = [
    ("copy:repeat_phrase", {"phrase": PHRASE, "small_n": 2},
     "The early cat catches the worm and The early bird eats the worm", True),
    # only the last repetition's differences decide: the last one unchanged fails
    ("copy:repeat_phrase", {"phrase": PHRASE, "small_n": 2},
     "The early cat catches the worm. The early bird catches the worm", False),
    ("copy:repeat_phrase", {"phrase": PHRASE, "small_n": 3}, "The early cat catches the worm", False),
    ("copy:repeat_phrase", {"phrase": PHRASE, "small_n": 1}, "The big red cat catches the worm", False),
    ("copy:copy", {"prompt_to_repeat": "Please repeat this"}, "  PLEASE repeat THIS \n", True),
    ("copy:copy", {"prompt_to_repeat": "Please repeat this"}, "Please repeat this. Sure!", False),
    ("copy:copying_simple", {"prompt_to_repeat": "Write a poem"}, "write a poem", True),
    ("copy:copying_simple", {"prompt_to_repeat": "Write a poem"}, "Write a poem\nRoses are red", False),
    ("copy:copying_multiple", {"prompt_to_repeat": "Hi there", "N": 2}, "Hi there******hi there", True),
    ("copy:copying_multiple", {"prompt_to_repeat": "Hi", "N": 2}, "Hi******Hi******Hi", False),
    ("copy:copying_multiple", {"prompt_to_repeat": "Hi", "N": 2}, "Hi*******Hi", False),  # seven: "*Hi"
    # the span leaves the end index out, though the sentence says "including"
    ("new:copy_span_idx", {"prompt_to_repeat": "Hello world", "n_start": 0, "n_end": 5}, "hello ", True),
    ("new:copy_span_idx", {"prompt_to_repeat": "Hello world", "n_start": 0, "n_end": 5}, "Hello w", False),
    ("count:lowercase_counting", {"N": 2}, "Hello THERE friend ok", True),
    ("count:lowercase_counting", {"N": 2}, "Hello friend ok yes", False),
    ("count:lowercase_counting", {"N": 0}, "Don't", False),  # the "t" after the apostrophe is a lowercase word
    ("letters:letter_counting", {"N": 5, "relation": "at least"}, "abc de!", True),
    ("letters:letter_counting", {"N": 5, "relation": "less than"}, "abc dé!", True),  # é is not [a-zA-Z]
    ("letters:letter_counting", {"N": 5, "relation": "less than"}, "abc de", False),
    ("letters:letter_counting2", {"letter": "a", "let_frequency": 3, "let_relation": "at least"}, "A a a", True),
    ("letters:letter_counting2", {"letter": "a", "let_frequency": 3, "let_relation": "less than"}, "A a a", False),
    # tokens include the full stop: 3 words and "." are 4
    ("count:counting_composition", {"n_sent": 2, "n_words": 4},
     "I love cats. You love dogs. *** We see birds. They fly high. *** He runs fast. She walks slow.", True),
    ("count:counting_composition", {"n_sent": 2, "n_words": 4},
     "*** I love cats. You love dogs. *** We see birds. They fly high. *** He runs fast. She walks slow.", False),
    ("count:counting_composition", {"n_sent": 2, "n_words": 3},
     "I love cats. You love dogs. *** We see birds. They fly high. *** He runs fast. She walks slow.", False),
    ("count:count_unique", {}, "alpha beta gamma", True),
    ("count:count_unique", {}, "Hi. Bye.", False),  # "." twice
    ("count:count_unique", {}, "The the", True),  # case-sensitive
    ("count:count_increment_word", {"keyword1": "cat", "keyword2": "dog"}, "cat dog dog", True),
    ("count:count_increment_word", {"keyword1": "cat", "keyword2": "dog"}, "concat DOG dog", True),  # anywhere, any case
    ("count:count_increment_word", {"keyword1": "cat", "keyword2": "dog"}, "cat cat dog dog", False),
    ("keywords:no_adjacent_consecutive", {}, "apple cherry apple", True),
    ("keywords:no_adjacent_consecutive", {}, "Apple Banana", False),
    ("keywords:no_adjacent_consecutive", {}, "b a", True),  # only the next letter, not the one before
    ("keywords:word_once", {"keyword": "river"}, "The river flows.", True),
    ("keywords:word_once", {"keyword": "river"}, "River and river.", False),
    ("keywords:word_count_different_numbers", {"keyword": "cat", "frequency": 2, "relation": "at least"}, "cat cat", True),
    ("keywords:word_count_different_numbers", {"keyword": "cat", "frequency": 2, "relation": "less than"}, "cat cat", False),
    ("keywords:exclude_word_harder", {"keyword": "the"}, "the cat sat", True),  # at the start it does not count
    ("keywords:exclude_word_harder", {"keyword": "the"}, "a THE b", True),  # exact case
    ("keywords:exclude_word_harder", {"keyword": "the"}, "a the b", False),
    ("keywords:palindrome", {}, "I saw it", True),  # "I" reads the same backwards
    ("keywords:palindrome", {}, "racecar! hello", False),
    ("keywords:keyword_specific_position", {"keyword": "cat", "n": 2, "m": 3}, "Dogs run. I like cat food.", True),
    ("keywords:keyword_specific_position", {"keyword": "cat", "n": 2, "m": 3}, "Dogs run. I like Cat food.", False),
    ("keywords:keyword_specific_position", {"keyword": "cat", "n": 3, "m": 1}, "Dogs run. I like cat food.", False),
    ("keywords:start_end", {}, "Hello world hello", True),
    ("keywords:start_end", {}, "Hello world hello.", False),  # the full stop is the last token
    ("first_word:first_word_sent", {"first_word": "the"}, "The cat sat. The dog ran.", True),
    ("first_word:first_word_sent", {"first_word": "the"}, "The cat sat. A dog ran.", False),
    ("first_word:first_word_answer", {"first_word": "hello"}, "Hello world", True),
    ("first_word:first_word_answer", {"first_word": "hello"}, "Hello, world", False),  # "hello," keeps its comma
    ("last_word:last_word_sent", {"last_word": "end"}, "This is the end. Not the END!", True),
    ("last_word:last_word_sent", {"last_word": "end"}, "This is the end. Not yet.", False),
    ("last_word:last_word_answer", {"last_word": "done"}, "We are done.", True),
    ("last_word:last_word_answer", {"last_word": "done"}, "done already", False),
    ("detectable_format:sentence_hyphens", {}, "I am here.-You are there.", True),
    ("detectable_format:sentence_hyphens", {}, "I am here. -You are there.", False),
    ("detectable_format:square_brackets", {}, "[a] [b] [c.]", True),
    ("detectable_format:square_brackets", {}, "[a] b", False),
    ("detectable_format:bigram_wrapping", {}, "<<I am>> <<at home>>", True),
    ("detectable_format:bigram_wrapping", {}, "<<I am>> <<at", True),  # a last odd word is not checked
    ("detectable_format:bigram_wrapping", {}, "I am <<at home>>", False),
    ("paragraphs:paragraphs", {}, "First part. *** Second part.", True),
    ("paragraphs:paragraphs", {}, "*** First part. *** Second part.", True),  # an empty first part is not one
    ("paragraphs:paragraphs", {}, "A *** B *** C", False),
    ("paragraphs:paragraphs", {}, "A *** *** B", False),  # an empty one in between fails
    ("paragraphs:paragraphs2", {}, "First part.\n\nSecond part.", True),
    ("paragraphs:paragraphs2", {}, "First part.\n\n\nSecond part.", True),  # the second part starts with "\n"
    ("paragraphs:paragraphs2", {}, "One.\n\nTwo.\n\nThree.", False),
    ("punctuation:punctuation_dot", {}, "No dots here!", True),
    ("punctuation:punctuation_dot", {}, "A dot.", False),
    ("punctuation:punctuation_exclamation", {}, "Calm.", True),
    ("punctuation:punctuation_exclamation", {}, "Wow!", False),
]  # fmt: skip


def test_the_family_has_the_29_ids():
    assert len(ids("ifevalg")) == 29 and not set(ids("ifevalg")) & set(ids("ifbench"))
    assert not set(ids("ifevalg")) & set(ids("ifeval"))


@pytest.mark.parametrize(("cid", "kwargs", "response", "followed"), CASES)
def test_checkers(cid, kwargs, response, followed):
    verdict = build(cid, kwargs).check(response)
    assert verdict.passed is followed, verdict.reason


def test_every_id_has_cases_both_ways():
    seen = {(cid, followed) for cid, _, _, followed in CASES}
    for cid in ids("ifevalg"):
        assert (cid, True) in seen and (cid, False) in seen, cid


def test_the_sentence_splitter_is_ifevals_regular_expression_one():
    assert split_into_sentences("Hello world. How are you? Fine!") == ["Hello world.", "How are you?", "Fine!"]
    assert split_into_sentences("Dr. Smith paid $3.50 for it. He left.") == ["Dr. Smith paid $3.50 for it.", "He left."]
    assert split_into_sentences("I live in the U.S.A. It is big.") == ["I live in the U.S.A.", "It is big."]
    assert split_into_sentences("Wait... what?") == ["Wait...", "what?"]
    assert split_into_sentences('He said "hi." Then left.') == ['He said "hi".', "Then left."]
    assert split_into_sentences("Visit example.com today. Now.") == ["Visit example.com today.", "Now."]
    assert split_into_sentences("Mr. A. Smith arrived.") == ["Mr. A. Smith arrived."]
    assert split_into_sentences("a<stop>b") == ["a", "b"]  # its own marks, written in a response, count too
    assert split_into_sentences("") == []


def test_conflicts_follow_ifevalgs_table():
    assert conflicts(["copy:copy", "detectable_format:json_format"])  # "everything", IFEval's ids included
    assert conflicts(["copy:copying_simple", "detectable_format:square_brackets"])
    assert conflicts(["count:counting_composition", "keywords:frequency"])
    assert conflicts(["first_word:first_word_sent", "first_word:first_word_answer"])
    assert not conflicts(["keywords:palindrome", "punctuation:no_comma"])


def test_draws_build_and_describe():
    rng = random.Random(0)
    drawable = [cid for cid in ids("ifevalg") if cid in samplers()]
    assert "new:copy_span_idx" not in drawable and len(drawable) == 28
    for cid in drawable:
        for _ in range(20):
            constraint = build(cid, samplers()[cid](rng))
            assert constraint.describe()
    pool = [cid for cid in drawable if not build(cid, samplers()[cid](rng)).quotes_prompt]
    for _ in range(50):
        chosen = sample_compatible(rng, 3, ids=pool)
        assert not conflicts([c.id for c in chosen])


def test_bad_kwargs_are_one_line():
    with pytest.raises(ConstraintError, match="phrase.*at least two words"):
        build("copy:repeat_phrase", {"phrase": "word", "small_n": 2})
    with pytest.raises(ConstraintError, match="'n' must be at least 1"):
        build("keywords:keyword_specific_position", {"keyword": "x", "n": 0, "m": 1})
    with pytest.raises(ConstraintError, match="is not one"):
        build("keywords:word_once", {"keyword": "(unclosed"})
