"""IFEval's regular-expression sentence splitter (``instructions_util.split_into_sentences``),
which IFEvalG's sentence checks use. Abbreviations, initials, acronyms, decimals, web domains and
runs of dots are protected, closing quotes are moved before the mark, and the text is cut after
every ``.``, ``?`` and ``!`` that is left."""

from __future__ import annotations

import re

# The reference marks a protected dot with the text "<prd>" and a sentence end with "<stop>", in the
# text itself: a response that writes either literally is cut (or dotted) there too. Kept, so that
# every text splits as the reference splits it.
_PROTECTED = "<prd>"
_CUT = "<stop>"
_LETTER = "([A-Za-z])"
_TITLES = re.compile("(Mr|St|Mrs|Ms|Dr)[.]")
_DOMAINS = re.compile("[.](com|net|org|io|gov|edu|me)")
_DECIMAL = re.compile("([0-9])[.]([0-9])")
_DOTS = re.compile(r"\.{2,}")
_INITIAL = re.compile(r"\s" + _LETTER + "[.] ")
_STARTERS = r"(Mr|Mrs|Ms|Dr|Prof|Capt|Cpt|Lt|He\s|She\s|It\s|They\s|Their\s|Our\s|We\s|But\s|However\s|That\s|This\s|Wherever)"
_ACRONYM_THEN_STARTER = re.compile("([A-Z][.][A-Z][.](?:[A-Z][.])?) " + _STARTERS)
_THREE_LETTERS = re.compile(_LETTER + "[.]" + _LETTER + "[.]" + _LETTER + "[.]")
_TWO_LETTERS = re.compile(_LETTER + "[.]" + _LETTER + "[.]")
_SUFFIX_THEN_STARTER = re.compile(" (Inc|Ltd|Jr|Sr|Co)[.] " + _STARTERS)
_SUFFIX = re.compile(" (Inc|Ltd|Jr|Sr|Co)[.]")
_SPACED_LETTER = re.compile(" " + _LETTER + "[.]")


def split_into_sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped, as IFEval's ``split_into_sentences`` gives them."""
    text = " " + text + "  "
    text = text.replace("\n", " ")
    text = _TITLES.sub("\\1" + _PROTECTED, text)
    text = _DOMAINS.sub(_PROTECTED + "\\1", text)
    text = _DECIMAL.sub("\\1" + _PROTECTED + "\\2", text)
    text = _DOTS.sub(lambda match: _PROTECTED * len(match.group(0)) + _CUT, text)
    if "Ph.D" in text:
        text = text.replace("Ph.D.", "Ph" + _PROTECTED + "D" + _PROTECTED)
    text = _INITIAL.sub(" \\1" + _PROTECTED + " ", text)
    text = _ACRONYM_THEN_STARTER.sub("\\1" + _CUT + " \\2", text)
    text = _THREE_LETTERS.sub("\\1" + _PROTECTED + "\\2" + _PROTECTED + "\\3" + _PROTECTED, text)
    text = _TWO_LETTERS.sub("\\1" + _PROTECTED + "\\2" + _PROTECTED, text)
    text = _SUFFIX_THEN_STARTER.sub(" \\1" + _CUT + " \\2", text)
    text = _SUFFIX.sub(" \\1" + _PROTECTED, text)
    text = _SPACED_LETTER.sub(" \\1" + _PROTECTED, text)
    if "\u201d" in text:
        text = text.replace(".\u201d", "\u201d.")
    if '"' in text:
        text = text.replace('."', '".')
    if "!" in text:
        text = text.replace('!"', '"!')
    if "?" in text:
        text = text.replace('?"', '"?')
    text = text.replace(".", "." + _CUT).replace("?", "?" + _CUT).replace("!", "!" + _CUT)
    text = text.replace(_PROTECTED, ".")
    sentences = [s.strip() for s in text.split(_CUT)]
    if sentences and not sentences[-1]:
        sentences = sentences[:-1]
    return sentences
