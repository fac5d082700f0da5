"""The stopword list and the POS tagger's first tag equal NLTK's own; a missing tagger is one line."""

from __future__ import annotations

import os
import subprocess
import sys

import nltk
import pytest

from adhere.text import pos, stopwords, words
from tests.conftest import IFBENCH, read_jsonl


def test_stopwords_equal_nltk_english_corpus():
    from nltk.corpus import stopwords as corpus

    english = corpus.words("english")
    assert stopwords.ENGLISH == frozenset(english) and len(english) == 198


@pytest.fixture(scope="module")
def texts() -> list[str]:
    rows = read_jsonl(IFBENCH / "sample_output.jsonl")
    found = [r["response"] for r in rows]
    found += [line for r in rows for line in r["response"].split("\n")[:3] if line.strip()]
    return found + ["Go.", "Run to the store.", "Go home", "42 is the answer", "“Quoted” start", "A"]


def test_first_tag_equals_nltk_pos_tag_on_real_responses(texts):
    compared = 0
    for text in texts:
        tokens = words.word_tokenize(text)
        if not tokens:
            assert pos.first_tag(tokens) is None
            continue
        assert pos.first_tag(tokens) == nltk.pos_tag(tokens)[0][1], text[:80]
        compared += 1
    assert compared > 500


def test_a_missing_tagger_is_one_clear_line(tmp_path):
    # An NLTK_DATA without the tagger, and no home folder to find one in.
    env = {**os.environ, "NLTK_DATA": str(tmp_path), "HOME": str(tmp_path)}
    probe = "import nltk; nltk.data.find('taggers/averaged_perceptron_tagger_eng/')"
    if subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True).returncode == 0:
        pytest.skip("this machine has the tagger installed system-wide")
    rows = tmp_path / "r.jsonl"
    rows.write_text(
        '{"key": 1, "prompt": "p", "instruction_id_list": ["words:start_verb"], "kwargs": [{}], '
        '"response": "Go home."}\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "adhere.cli", "score", str(rows), "--benchmark", "ifbench"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "averaged_perceptron_tagger_eng" in lines[0] and "nltk.downloader" in lines[0]

