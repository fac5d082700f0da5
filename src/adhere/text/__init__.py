"""Shared text analysis, equal to the tools the reference implementations use (NLTK, langdetect)."""

from adhere.text.language import detect_language
from adhere.text.punkt import split_sentences
from adhere.text.view import TextView
from adhere.text.words import count_words, word_tokenize

__all__ = ["TextView", "count_words", "detect_language", "split_sentences", "word_tokenize"]
