"""adhere's text analysis equals NLTK (punkt_tab, English) and langdetect 1.0.9 (seed 0).

The originals are loaded the way the reference evaluator loads them: NLTK from a real punkt_tab
directory (``NLTK_DATA`` points at ../shared/data/nltk_data) and langdetect itself.
"""

from __future__ import annotations

import os
import subprocess
import sys

import nltk
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adhere.constraints.evaluate import loose_variants
from adhere.text import count_words, detect_language, split_sentences, word_tokenize


@pytest.fixture(scope="module")
def corpus(gpt4_responses) -> list[str]:
    texts = []
    for row in gpt4_responses:
        texts.extend(loose_variants(row["response"])[:4])
    texts += ["", " ", "Mr. Smith went to Washington. He arrived at 5 p.m. on Jan. 3rd!", "“Yes.” (No.)"]
    return texts


def test_sentences_equal_nltk_sent_tokenize(corpus):
    for text in corpus:
        assert split_sentences(text) == nltk.sent_tokenize(text), text[:80]


def test_words_equal_nltk_word_tokenize(corpus):
    for text in corpus:
        assert word_tokenize(text) == nltk.word_tokenize(text), text[:80]


def test_word_count_equals_the_reference_regexp_tokenizer(corpus):
    tokenizer = nltk.tokenize.RegexpTokenizer(r"\w+")
    for text in corpus:
        assert count_words(text) == len(tokenizer.tokenize(text))


def test_language_equals_langdetect_with_seed_zero(corpus):
    import langdetect

    langdetect.DetectorFactory.seed = 0

    def reference(text):
        try:
            return langdetect.detect(text)
        except langdetect.LangDetectException:
            return None

    sample = corpus[::3] + ["Hola, ¿cómo estás?", "これは日本語です", "1234", "Привет мир"]
    for text in sample:
        assert detect_language(text) == reference(text), text[:80]


prose = st.text(
    alphabet=st.sampled_from(list("abcXYZ .!?\"'()[]-,;:\n\t“”‘’«»0123…*")), max_size=120
)


@settings(max_examples=1500, deadline=None)
@given(prose)
def test_sentences_and_words_equal_nltk_on_random_text(text):
    assert split_sentences(text) == nltk.sent_tokenize(text)
    assert word_tokenize(text) == nltk.word_tokenize(text)


VOCABULARY = [
    "can", "not", "cannot", "don't", "'t", "'tis", "is", "was", "Mr.", "Dr.", "U.S.", "J.", "Bach",
    "etc.", "e.g.", "No.", "3.5", "1.", "2)", "...", "..", "--", "-", "«", "»", "``", "''", '"', "'",
    "(", ")", "[", "]", "!", "?", ":", ",", ";", "'s", "'ll", "n't", "gonna", "d'ye", "more'n",
    "wanna", "WaNNa", "gİmme", "gımme", "GIMME", "CANNOT", "CanNot", "lemme", "gotta", "GoNNa", "THE", "End.", "the", "i.e.", "Jan.", "p.m.", "a.", "B.", "“Yes.”", "’", "‘", "…",
    "\n", "\n\n", " ", "  ", "\t", "é", "ß", "İ", "ǅ", "ℍ", "٣", "#", "$", "%", "&", "@", "*",
]  # fmt: skip
sentencey = st.lists(st.sampled_from(VOCABULARY), max_size=40).map(
    lambda tokens: "".join(t if t.isspace() else t + " " for t in tokens)
)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(sentencey, st.lists(st.sampled_from(VOCABULARY), max_size=30).map("".join)))
def test_sentences_and_words_equal_nltk_on_tricky_tokens(text):
    assert split_sentences(text) == nltk.sent_tokenize(text)
    assert word_tokenize(text) == nltk.word_tokenize(text)


def test_no_nltk_data_needed_at_run_time(tmp_path):
    # The released package must work with no NLTK data anywhere and no network.
    env = {k: v for k, v in os.environ.items() if k != "NLTK_DATA"}
    env["HOME"] = str(tmp_path)
    code = (
        "import nltk; nltk.data.path[:] = []\n"
        "from adhere.text import split_sentences, word_tokenize, detect_language\n"
        "print(len(split_sentences('One. Two! Three?')), word_tokenize('Hi there.'),"
        " detect_language('This is English text.'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "3 ['Hi', 'there', '.'] en"
