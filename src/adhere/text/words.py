"""Word counting and tokenisation exactly as the IFEval reference does them.

* ``count_words``: ``nltk.tokenize.RegexpTokenizer(r"\\w+")``, which NLTK >= 3.10 runs with the
  ``regex`` engine (its ``\\w`` differs from ``re``'s on some Unicode marks, so we use ``regex`` too).
* ``word_tokenize``: ``nltk.word_tokenize`` (Punkt sentences, then NLTK's improved Treebank
  tokenizer on each), with the same patterns compiled without NLTK's wall-clock timeout.
"""

from __future__ import annotations

import functools
import re

from adhere.text.punkt import _untimed, split_sentences


@functools.cache
def _word_pattern():
    import regex

    # RegexpTokenizer's default flags.
    return regex.compile(r"\w+", regex.UNICODE | regex.MULTILINE | regex.DOTALL)


def count_words(text: str) -> int:
    """Number of ``\\w+`` runs, as IFEval's ``instructions_util.count_words``."""
    return len(_word_pattern().findall(text))


def word_runs(text: str) -> list[str]:
    """The ``\\w+`` runs themselves (``RegexpTokenizer(r"\\w+").tokenize``)."""
    return _word_pattern().findall(text)


# A substitution whose pattern needs one of these characters cannot change a text that has none
# of them, so it is skipped there. Keyed by NLTK's own pattern strings: a rule NLTK adds or
# changes is not in this table and is always applied.
_TRIGGERS = {
    "([«“‘„]|[`]+)": "«“‘„`",
    r"^\"": '"',
    r"(``)": "`",
    r"([ \(\[{<])(\"|\'{2})": "\"'",
    r"(?i)(?<!\w)(\')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w)": "'",
    r"([:,])([^\d])": ":,",
    r"([:,])$": ":,",
    r"\.{2,}": ".",
    r"[;@#$%&]": ";@#$%&",
    r"[\u2012-\u2015]": "\u2012\u2013\u2014\u2015",
    r"[?!]": "?!",
    r"([^'])' ": "'",
    r"[*]": "*",
    r"[\]\[\(\)\{\}\<\>]": "[](){}<>",
    r"--": "-",
    "([»”’])": "»”’",
    r"''": "'",
    r'"': '"',
    r"([^' ])('[sS]|'[mM]|'[dD]|') ": "'",
    r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ": "'",
    r"(?i) ('t)(?#X)(is)\b": "'",
    r"(?i) ('t)(?#X)(was)\b": "'",
    r"(?i)\b(d)(?#X)('ye)\b": "'",
    r"(?i)\b(more)(?#X)('n)\b": "'",
}
# Letter-only contractions (case-insensitive ``re``): a lowercase substring the text must contain.
# None of these letters has an exotic case-insensitive equivalent in ``re`` (unlike "i", which
# also matches "İ" and "ı", so "gimme" is tested by its "mme"), and no substitution ever joins
# letters, so testing the sentence before the substitutions is enough.
_LOWER_TRIGGERS = {
    r"(?i)\b(can)(?#X)(not)\b": "cannot",
    r"(?i)\b(gim)(?#X)(me)\b": "mme",
    r"(?i)\b(gon)(?#X)(na)\b": "gonna",
    r"(?i)\b(got)(?#X)(ta)\b": "gotta",
    r"(?i)\b(lem)(?#X)(me)\b": "lemme",
    r"(?i)\b(wan)(?#X)(na)(?=\s)": "wanna",
}
# The final-period rules need a ".": NLTK's two variants, plain and possessive.
_PERIOD_RULE = "(\\.)("


@functools.cache
def _rules():
    """NLTKWordTokenizer's substitutions in its order, untimed, each with its trigger characters."""
    from adhere.text.nltk_loader import load_nltk

    load_nltk()
    from nltk.tokenize.destructive import NLTKWordTokenizer as T

    def rule(pattern, repl):
        source = pattern.pattern
        trigger = _TRIGGERS.get(source)
        if trigger is None and _PERIOD_RULE in source and source.endswith("\\s*$"):
            trigger = "."
        if trigger is None and source in _LOWER_TRIGGERS:
            return _untimed(pattern), repl, _LOWER_TRIGGERS[source]
        return _untimed(pattern), repl, None if trigger is None else frozenset(trigger)

    rules = [rule(p, r) for p, r in T.STARTING_QUOTES]
    rules += [rule(p, r) for p, r in T.PUNCTUATION]
    rules.append(rule(*T.PARENS_BRACKETS))
    rules.append(rule(*T.DOUBLE_DASHES))
    before_padding = len(rules)
    rules += [rule(p, r) for p, r in T.ENDING_QUOTES]
    rules += [rule(p, r" \1 \2 ") for p in T.CONTRACTIONS2]
    rules += [rule(p, r" \1 \2 ") for p in T.CONTRACTIONS3]
    # Characters a substitution can add (its template minus group references), plus the padding.
    added = set(" ")
    for _, repl, _ in rules:
        added.update(re.sub(r"\\(?:\d+|g<\w+>)", "", repl))
    return rules[:before_padding], rules[before_padding:], frozenset(added)


@functools.lru_cache(maxsize=32768)
def _sentence_tokens(sentence: str) -> tuple[str, ...]:
    # Remembered by sentence: a long response repeats sentences, and IFEval's loose variants of
    # a response (it without its first line, its last line...) share nearly all of theirs.
    return tuple(_tokenize_sentence(sentence))


def _tokenize_sentence(text: str) -> list[str]:
    """``NLTKWordTokenizer().tokenize(text)``: the same substitutions, skipping no-ops."""
    first, second, added = _rules()
    # Substitutions only add their templates' characters (spaces, backticks, apostrophes...) to
    # those already there, so this set stays a superset of the text's characters throughout.
    present = set(text)
    present.update(added)
    for pattern, repl, trigger in first:
        if trigger is None or not trigger.isdisjoint(present):
            text = pattern.sub(repl, text)
    lowered = text.lower()
    text = " " + text + " "  # NLTK pads here, between its rule groups
    for pattern, repl, trigger in second:
        if trigger is None:
            text = pattern.sub(repl, text)
        elif isinstance(trigger, str):
            if trigger in lowered:
                text = pattern.sub(repl, text)
        elif not trigger.isdisjoint(present):
            text = pattern.sub(repl, text)
    return text.split()


def word_tokenize(text: str) -> list[str]:
    """Tokens of ``text`` exactly as ``nltk.word_tokenize(text)`` (English) returns them."""
    return [token for sentence in split_sentences(text) for token in _sentence_tokens(sentence)]
