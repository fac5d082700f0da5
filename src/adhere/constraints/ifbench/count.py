"""IFBench ``count:*``: words, unique words, conjunctions, names, numbers, punctuation, keywords."""

from __future__ import annotations

import re

from adhere.constraints.base import Constraint, Verdict
from adhere.constraints.ifbench.tokens import PUNCT_SPACE, without_punctuation
from adhere.constraints.registry import constraint
from adhere.text import words
from adhere.text.view import TextView


def _at_least_zero(self: Constraint, key: str, value: int) -> None:
    if value < 0:
        self._fail(key, f"must be >= 0, got {value}")


@constraint("count:word_count_range", benchmark="ifbench")
class WordCountRange(Constraint):
    """Between ``min_words`` and ``max_words`` words (inclusive), counted as ``\\w+`` runs."""

    template = "The response must contain between {min_words} and {max_words} words."

    min_words: int
    max_words: int

    def _validate(self) -> None:
        _at_least_zero(self, "min_words", self.min_words)
        if self.max_words < self.min_words:
            self._fail("max_words", f"must be >= min_words ({self.min_words}), got {self.max_words}")

    def _check(self, view: TextView) -> Verdict:
        found = view.word_count
        passed = self.min_words <= found <= self.max_words
        return Verdict(passed, f"expected {self.min_words} to {self.max_words} words, found {found}")


@constraint("count:unique_word_count", benchmark="ifbench")
class UniqueWordCount(Constraint):
    """At least ``N`` distinct lower-cased, punctuation-trimmed whitespace tokens.

    A token made only of punctuation trims to "" and the reference counts "" as one word.
    Reproduced on purpose.
    """

    template = "Use at least {N} unique words in the response."

    N: int

    def _check(self, view: TextView) -> Verdict:
        found = len({word.strip(PUNCT_SPACE) for word in view.lower.split()})
        passed = found >= self.N
        return Verdict(passed, f"expected at least {self.N} unique words, found {found}")


_CONJUNCTIONS = ("and", "but", "for", "nor", "or", "so", "yet")


@constraint("count:conjunctions", benchmark="ifbench")
class Conjunctions(Constraint):
    """At least ``small_n`` different coordinating conjunctions.

    The reference collects the raw tokens ("And", "and," ...) and counts distinct raw tokens, so
    one conjunction written two ways counts twice. Reproduced on purpose.
    """

    template = "Use at least {small_n} different coordinating conjunctions in the response."

    small_n: int

    def _check(self, view: TextView) -> Verdict:
        found = {w for w in view.text.split() if w.strip(PUNCT_SPACE).lower() in _CONJUNCTIONS}
        passed = len(found) >= self.small_n
        return Verdict(
            passed, f"expected at least {self.small_n} different conjunctions, found {len(found)}"
        )


PERSON_NAMES = (
    "Emma", "Liam", "Sophia", "Jackson", "Olivia", "Noah", "Ava", "Lucas", "Isabella", "Mason",
    "Mia", "Ethan", "Charlotte", "Alexander", "Amelia", "Benjamin", "Harper", "Leo", "Zoe",
    "Daniel", "Chloe", "Samuel", "Lily", "Matthew", "Grace", "Owen", "Abigail", "Gabriel", "Ella",
    "Jacob", "Scarlett", "Nathan", "Victoria", "Elijah", "Layla", "Nicholas", "Audrey", "David",
    "Hannah", "Christopher", "Penelope", "Thomas", "Nora", "Andrew", "Aria", "Joseph", "Claire",
    "Ryan", "Stella", "Jonathan",
)  # fmt: skip
_NAME_PATTERNS = tuple((name, re.compile(rf"\b{name}\b")) for name in PERSON_NAMES)


@constraint("count:person_names", benchmark="ifbench")
class PersonNames(Constraint):
    """At least ``N`` different names from the fixed list, matched case-sensitively as words."""

    template = (
        "Mention at least {N} different person names in the response, from this list of person "
        "names: " + ", ".join(PERSON_NAMES) + " ."
    )

    N: int

    def _check(self, view: TextView) -> Verdict:
        found = [name for name, pattern in _NAME_PATTERNS if pattern.search(view.text)]
        passed = len(found) >= self.N
        return Verdict(passed, f"expected at least {self.N} listed names, found {len(found)}")


@constraint("count:numbers", benchmark="ifbench")
class Numbers(Constraint):
    """Exactly ``N`` digit runs once punctuation is deleted ("3.14" and "1,000" count once)."""

    template = "Include exactly {N} numbers in the response."

    N: int

    def _check(self, view: TextView) -> Verdict:
        found = len(re.findall(r"\d+", without_punctuation(view.text)))
        return Verdict(found == self.N, f"expected exactly {self.N} numbers, found {found}")


_COVER = frozenset(".,!?;:")


@constraint("count:punctuation", benchmark="ifbench")
class PunctuationCover(Constraint):
    """An interrobang (``?!``, ``!?`` or ``‽``) and each of ``. , ! ? ; :`` outside it."""

    template = (
        "Use every standard punctuation mark at least once, including semicolons, colons, and "
        "the interrobang (?!)."
    )

    def _check(self, view: TextView) -> Verdict:
        text = view.text
        if not ("!?" in text or "?!" in text or "‽" in text):
            return Verdict(False, "no interrobang (?!, !? or ‽)")
        # One "?!" is removed (else one "!?"), and the six marks must appear in what is left.
        rest = text.replace("?!", "", 1)
        if len(rest) == len(text):
            rest = text.replace("!?", "", 1)
        missing = sorted(_COVER - set(rest))
        if missing:
            return Verdict(False, f"missing {' '.join(missing)}")
        return Verdict(True, "all punctuation marks used")


_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@constraint("count:words_japanese", benchmark="ifbench")
class NthWordJapanese(Constraint):
    """Every ``N``-th whitespace token (digits and empty tokens exempt) has a Japanese character."""

    template = "Every {N}th word of your response must be in Japanese."

    N: int

    def _validate(self) -> None:
        if self.N < 1:
            self._fail("N", f"must be >= 1, got {self.N}")

    def describe(self) -> str:
        # The reference's ordinals drop the word "word" ("Every 21st of your response...") and
        # say "11st"; adhere writes the instruction in plain English.
        n = self.N
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return f"Every {n}{suffix} word of your response must be in Japanese."

    def _check(self, view: TextView) -> Verdict:
        for index, word in enumerate(view.text.split(), start=1):
            word = word.strip(PUNCT_SPACE)
            if index % self.N == 0 and word and not word.isdigit() and not _JAPANESE.search(word):
                return Verdict(False, f"word {index} ({word[:20]!r}) is not Japanese")
        return Verdict(True, f"every {self.N}th word is Japanese")


@constraint("count:keywords_multiple", benchmark="ifbench")
class KeywordsMultiple(Constraint):
    """Keywords 1 to 5 occur exactly 1, 2, 3, 5 and 7 times (case-insensitive substrings)."""

    template = (
        "Include keyword {keyword1} once in your response, keyword {keyword2} twice in your "
        "response, keyword {keyword3} three times in your response, keyword {keyword4} five times "
        "in your response, and keyword {keyword5} seven times in your response."
    )

    keyword1: str
    keyword2: str
    keyword3: str
    keyword4: str
    keyword5: str

    def _validate(self) -> None:
        for key in ("keyword1", "keyword2", "keyword3", "keyword4", "keyword5"):
            if not getattr(self, key).strip():
                self._fail(key, "must not be empty")

    def _check(self, view: TextView) -> Verdict:
        keywords = (self.keyword1, self.keyword2, self.keyword3, self.keyword4, self.keyword5)
        for keyword, wanted in zip(keywords, (1, 2, 3, 5, 7)):
            keyword = keyword.strip().lower()
            found = view.lower.count(keyword)
            if found != wanted:
                return Verdict(False, f"expected {keyword!r} {wanted} times, found {found}")
        return Verdict(True, "every keyword appears the asked number of times")


_PRONOUNS = frozenset(
    """
    i me we us you he him she her it they them
    my mine our ours your yours his hers its their theirs
    myself ourselves yourself yourselves himself herself itself themselves
    this that these those who whom whose which what whoever whomever whatever whichever
    anybody anyone anything everybody everyone everything nobody nothing somebody someone
    something each either neither both all some any none
    """.split()
)


@constraint("count:pronouns", benchmark="ifbench")
class Pronouns(Constraint):
    """At least ``N`` pronoun tokens (NLTK word tokens of the lower-cased text, "/" as a space)."""

    template = "The response should include at least {N} pronouns."

    N: int

    def _check(self, view: TextView) -> Verdict:
        # "she/her/hers" counts three: the reference splits on "/" before tokenizing.
        tokens = words.word_tokenize(view.lower.replace("/", " "))
        found = sum(1 for token in tokens if token in _PRONOUNS)
        passed = found >= self.N
        return Verdict(passed, f"expected at least {self.N} pronouns, found {found}")


__all__ = ["PERSON_NAMES"]
