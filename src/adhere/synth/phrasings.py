"""Other ways to word each samplable instruction, for ``adhere synth --phrasing varied``.

IFEval's prompts were written by people: the same check is asked for as "in all lowercase
letters", "without using capital letters" or "all lower case (no capital letters whatsoever)". A
model trained only on the checkers' own sentences (``Constraint.describe``) can learn to follow
that one wording and miss the others. Each template here asks for exactly what the checker
verifies, in other words; ``{field}`` is the constraint's kwarg, rendered as ``describe`` renders
it, except keyword lists, which read as prose (``the words "river" and "garden"``).
"""

from __future__ import annotations

import random
import string

from adhere.constraints.base import Constraint

#: Alternatives to ``describe()``, per constraint id. Ids missing here keep their one sentence.
ALTERNATIVES: dict[str, tuple[str, ...]] = {
    "change_case:capital_word_frequency": (
        "Use words written entirely in capital letters {capital_relation} {capital_frequency} times in your answer.",
        "The number of all-caps words in your reply should be {capital_relation} {capital_frequency}.",
    ),
    "change_case:english_capital": (
        "Write your whole answer in English, using only capital letters.",
        "Respond in English and in ALL CAPS, from the first word to the last.",
        "Your reply must be in English and entirely in uppercase letters.",
    ),
    "change_case:english_lowercase": (
        "Write your whole answer in English, using only lowercase letters.",
        "Respond in English and do not use a single capital letter anywhere.",
        "Your reply must be in English and entirely in lowercase, with no capitals at all.",
    ),
    "combination:two_responses": (
        "Write two different answers, separated by a line of six asterisks (******) and by nothing else.",
        "Provide two distinct responses, with ****** between them as the only separator.",
    ),
    "detectable_content:number_placeholders": (
        "Include at least {num_placeholders} placeholders in square brackets, like [name].",
        "Your answer should have {num_placeholders} or more bracketed placeholders such as [date].",
    ),
    "detectable_content:postscript": (
        "End your answer with a postscript that begins with {postscript_marker}",
        "Add a postscript at the very end, starting with {postscript_marker}",
    ),
    "detectable_format:json_format": (
        "Format your entire answer as JSON; wrapping it in markdown code ticks is fine.",
        "Your whole reply must be valid JSON, with nothing outside it.",
    ),
    "detectable_format:multiple_sections": (
        "Split your answer into {num_sections} sections, starting each one with {section_spliter} and its "
        "number ({section_spliter} 1, {section_spliter} 2, and so on).",
        "Organize the response into {num_sections} parts, each introduced by a line such as {section_spliter} 1.",
    ),
    "detectable_format:number_bullet_lists": (
        "Use exactly {num_bullets} markdown bullet points (lines starting with *) in your answer.",
        "Your answer should be a list of exactly {num_bullets} bullets, each line beginning with an asterisk, "
        "like:\n* first point\n* second point",
    ),
    "detectable_format:number_highlighted_sections": (
        "Highlight at least {num_highlights} parts of your answer with markdown, e.g. *important part*.",
        "Use markdown to emphasize {num_highlights} or more sections, like *this one*.",
    ),
    "detectable_format:title": (
        "Give your answer a title in double angular brackets, like <<my title>>.",
        "Start with a title wrapped in << and >>, for example <<a day at sea>>.",
    ),
    "keywords:existence": (
        "Make sure to use {keywords} in your answer.",
        "Your response must include {keywords}.",
    ),
    "keywords:forbidden_words": (
        "Do not use {forbidden_words} anywhere in your answer.",
        "Avoid {forbidden_words} entirely.",
    ),
    "keywords:frequency": (
        "Use the word {keyword} {relation} {frequency} times in your answer.",
        "The word {keyword} should occur {relation} {frequency} times in your reply.",
    ),
    "keywords:letter_frequency": (
        "The letter {letter} must occur {let_relation} {let_frequency} times in your answer.",
        "Use the letter '{letter}' {let_relation} {let_frequency} times in your reply.",
    ),
    "language:response_language": (
        "Answer only in {language}; no other language is allowed.",
        "Write your whole response in {language}, and in no other language.",
    ),
    "length_constraints:nth_paragraph_first_word": (
        "Write {num_paragraphs} paragraphs, separated from each other by a blank line, and begin paragraph "
        "{nth_paragraph} with the word {first_word}.",
        "Your answer needs {num_paragraphs} paragraphs with an empty line between them; paragraph "
        "{nth_paragraph} must start with the word {first_word}.",
    ),
    "length_constraints:number_paragraphs": (
        "Write exactly {num_paragraphs} paragraphs, with the markdown divider *** between them.",
        "Your answer should have {num_paragraphs} paragraphs, separated by lines of ***.",
    ),
    "length_constraints:number_sentences": (
        "Use {relation} {num_sentences} sentences in your answer.",
        "Your answer should be {relation} {num_sentences} sentences long.",
    ),
    "length_constraints:number_words": (
        "Your answer should be {relation} {num_words} words long.",
        "Write {relation} {num_words} words.",
    ),
    "punctuation:no_comma": (
        "Do not use any commas in your answer.",
        "Write your response without a single comma.",
    ),
    "startend:end_checker": (
        "End your answer with the exact phrase {end_phrase} and write nothing after it.",
        "Close your response with exactly these words, with nothing after them: {end_phrase}",
    ),
    "startend:quotation": (
        "Put your whole answer inside double quotation marks.",
        "Enclose the entire response in double quotes.",
    ),
    "combination:repeat_prompt": (
        "Before answering, repeat the request above word for word (say nothing before it, and do not repeat "
        "this sentence), then give your answer.",
        "Start by copying the request exactly as written, without this sentence and with nothing before it; "
        "then answer it.",
    ),
}

PHRASINGS = ("canonical", "varied")


def wordings(constraint: Constraint) -> list[str]:
    """Every way to word ``constraint``: its own sentence (``describe()``) first, then the alternatives."""
    rendered = [constraint.describe()]
    for template in (*ALTERNATIVES.get(constraint.id, ()), *type(constraint).other_wordings):
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        rendered.append(template.format(**{name: _render(constraint, name) for name in names}))
    return rendered


def phrase(constraint: Constraint, rng: random.Random) -> str:
    """One of the constraint's wordings, drawn uniformly with ``rng``."""
    return rng.choice(wordings(constraint))


def _render(constraint: Constraint, name: str) -> str:
    value = getattr(constraint, name)
    if isinstance(value, (tuple, list)):
        words = [f'"{w}"' for w in sorted(set(value))]
        listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
        return ("the word " if len(words) == 1 else "the words ") + listed
    return constraint._render_field(name, value)
