"""Word counting and tokenisation exactly as the IFEval reference does them.

* ``count_words``: ``nltk.tokenize.RegexpTokenizer(r"\\w+")``, which NLTK >= 3.10 runs with the
  ``regex`` engine (its ``\\w`` differs from ``re``'s on some Unicode marks, so we use ``regex`` too).
* ``word_tokenize``: ``nltk.word_tokenize`` (Punkt sentences, then NLTK's improved Treebank
  tokenizer on each), with the same patterns compiled without NLTK's wall-clock timeout.
"""

from __future__ import annotations

import functools

from adhere.text.punkt import _untimed, split_sentences


@functools.cache
def _word_pattern():
    import regex

    # RegexpTokenizer's default flags.
    return regex.compile(r"\w+", regex.UNICODE | regex.MULTILINE | regex.DOTALL)


def count_words(text: str) -> int:
    """Number of ``\\w+`` runs, as IFEval's ``instructions_util.count_words``."""
    return len(_word_pattern().findall(text))


@functools.cache
def _treebank():
    from nltk.tokenize.destructive import NLTKWordTokenizer

    def unwrap(rules):
        return [(_untimed(pattern), repl) for pattern, repl in rules]

    class Tokenizer(NLTKWordTokenizer):
        STARTING_QUOTES = unwrap(NLTKWordTokenizer.STARTING_QUOTES)
        ENDING_QUOTES = unwrap(NLTKWordTokenizer.ENDING_QUOTES)
        PUNCTUATION = unwrap(NLTKWordTokenizer.PUNCTUATION)
        PARENS_BRACKETS = unwrap([NLTKWordTokenizer.PARENS_BRACKETS])[0]
        CONVERT_PARENTHESES = unwrap(NLTKWordTokenizer.CONVERT_PARENTHESES)
        DOUBLE_DASHES = unwrap([NLTKWordTokenizer.DOUBLE_DASHES])[0]
        CONTRACTIONS2 = [_untimed(p) for p in NLTKWordTokenizer.CONTRACTIONS2]
        CONTRACTIONS3 = [_untimed(p) for p in NLTKWordTokenizer.CONTRACTIONS3]

    return Tokenizer()


def word_tokenize(text: str) -> list[str]:
    """Tokens of ``text`` exactly as ``nltk.word_tokenize(text)`` (English) returns them."""
    tokenizer = _treebank()
    return [token for sentence in split_sentences(text) for token in tokenizer.tokenize(sentence)]
