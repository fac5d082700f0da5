"""One response's text analysis, computed at most once however many checkers ask for it."""

from __future__ import annotations

from functools import cached_property

from adhere.text import language, punkt, words


class TextView:
    """A response plus lazily computed, cached analyses (sentences, words, language...).

    Checkers receive a view rather than a bare string so that, e.g., three constraints needing
    the sentence count of the same response run Punkt once.
    """

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return f"TextView({self.text[:40]!r}{'...' if len(self.text) > 40 else ''})"

    @cached_property
    def lower(self) -> str:
        return self.text.lower()

    @cached_property
    def stripped(self) -> str:
        return self.text.strip()

    @cached_property
    def sentences(self) -> list[str]:
        """``nltk.sent_tokenize(text)``: shared by every checker, do not mutate."""
        return punkt.split_sentences(self.text)

    @cached_property
    def sentence_count(self) -> int:
        return len(self.sentences)

    @cached_property
    def word_count(self) -> int:
        return words.count_words(self.text)

    @cached_property
    def word_tokens(self) -> list[str]:
        return words.word_tokenize(self.text)

    @cached_property
    def language(self) -> str | None:
        """langdetect's answer, or ``None`` where it cannot detect any language."""
        return language.detect_language(self.text)
