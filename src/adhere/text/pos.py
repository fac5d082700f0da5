"""Part-of-speech tags as ``nltk.pos_tag`` gives them (NLTK's English averaged perceptron).

Only IFBench's ``words:start_verb`` needs a tagger. Its model (``averaged_perceptron_tagger_eng``,
about 6 MB of weights) is not shipped by any package adhere can depend on, so it is found where
NLTK looks for its data (``NLTK_DATA``, ``~/nltk_data``, ...). adhere never downloads it at run
time: when it is missing the error says how to install it once.
"""

from __future__ import annotations

import functools

from adhere.errors import MissingResourceError

TAGGER = "averaged_perceptron_tagger_eng"


@functools.cache
def _tagger():
    from adhere.text.nltk_loader import load_nltk

    load_nltk()
    from nltk.tag.perceptron import PerceptronTagger

    try:
        return PerceptronTagger(lang="eng")
    except (LookupError, OSError):
        raise MissingResourceError(
            f"NLTK's English part-of-speech tagger ({TAGGER}) is not installed; it is needed by "
            f"words:start_verb. Install it once with `python -m nltk.downloader {TAGGER}`, or set "
            "NLTK_DATA to a folder that holds taggers/" + TAGGER
        ) from None


def require_tagger() -> None:
    """Load the tagger now, so a missing model is reported before any work starts."""
    _tagger()


def first_tag(tokens: list[str]) -> str | None:
    """The tag ``nltk.pos_tag(tokens)`` gives the first token (``None`` for no tokens).

    The perceptron's features for token 0 read only tokens 0 to 2 (and the start padding), so
    tagging the first three tokens gives the first tag exactly, whatever the text's length.
    """
    if not tokens:
        return None
    return _tagger().tag(tokens[:3])[0][1]
