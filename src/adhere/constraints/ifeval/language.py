"""IFEval ``language:response_language``."""

from __future__ import annotations

import random
from typing import Any

from adhere.constraints import draws
from adhere.constraints.base import Constraint, Verdict
from adhere.constraints.registry import constraint
from adhere.text.view import TextView

#: The ISO 639-1 codes IFEval can ask for, with the names its instruction sentence uses.
LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "pt": "Portuguese", "ar": "Arabic", "hi": "Hindi",
    "fr": "French", "ru": "Russian", "de": "German", "ja": "Japanese", "it": "Italian",
    "bn": "Bengali", "uk": "Ukrainian", "th": "Thai", "ur": "Urdu", "ta": "Tamil",
    "te": "Telugu", "bg": "Bulgarian", "ko": "Korean", "pl": "Polish", "he": "Hebrew",
    "fa": "Persian", "vi": "Vietnamese", "ne": "Nepali", "sw": "Swahili", "kn": "Kannada",
    "mr": "Marathi", "gu": "Gujarati", "pa": "Punjabi", "ml": "Malayalam", "fi": "Finnish",
}  # fmt: skip


def language_verdict(view: TextView, code: str) -> Verdict:
    """langdetect's answer compared with ``code``.

    Where langdetect finds no features (digits, punctuation) the reference counts the
    instruction as followed; reproduced on purpose.
    """
    detected = view.language
    if detected is None:
        return Verdict(True, "no language detectable (counted as followed, as the reference does)")
    return Verdict(detected == code, f"expected language {code!r}, detected {detected!r}")


@constraint("language:response_language")
class ResponseLanguage(Constraint):
    """The whole response is in the given language, as langdetect (seed 0) sees it."""

    template = (
        "Your ENTIRE response should be in {language} language, no other language is allowed."
    )

    language: str

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"language": rng.choice(draws.LANGUAGES)}

    other_wordings = (
        "Answer only in {language}; no other language is allowed.",
        "Write your whole response in {language}, and in no other language.",
    )
    probe_wordings = ("Respond exclusively in {language}.",)
    # Asked in another language, words and phrases given in English cannot be followed.
    conflicts_with = (
        "detectable_format:multiple_sections", "keywords:existence", "keywords:frequency",
        "keywords:forbidden_words", "startend:end_checker", "change_case:english_capital",
        "change_case:english_lowercase",
    )  # fmt: skip

    def _validate(self) -> None:
        if self.language not in LANGUAGE_NAMES:
            self._fail("language", f"must be one of {', '.join(sorted(LANGUAGE_NAMES))}")

    def _render_field(self, name: str, value: str) -> str:
        return LANGUAGE_NAMES[value]

    @classmethod
    def _parse_field(cls, name: str, text: str) -> str:
        codes = [code for code, language in LANGUAGE_NAMES.items() if language == text]
        return codes[0] if codes else text

    def _check(self, view: TextView) -> Verdict:
        return language_verdict(view, self.language)
