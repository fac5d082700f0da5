"""IFBench ``format:*``: nesting, options, layout, emoji, bullets, italics, case, whitespace."""

from __future__ import annotations

import re
import string

from adhere.constraints.base import Constraint, Verdict
from adhere.constraints.ifbench.tokens import PUNCT_SPACE, without_punctuation
from adhere.constraints.registry import constraint
from adhere.text import punkt
from adhere.text.view import TextView

_CLOSER = {"(": ")", "[": "]", "{": "}"}


@constraint("format:parentheses", benchmark="ifbench")
class NestedBrackets(Constraint):
    """Brackets ``( [ {`` nested at least 5 deep and properly closed.

    As in the reference, a closing bracket that does not match resets the count, and the check
    passes as soon as a bracket closes after a depth of 5 was reached.
    """

    template = "Nest parentheses (and [brackets {and braces}]) at least 5 levels deep."

    def _check(self, view: TextView) -> Verdict:
        stack: list[str] = []
        deepest = 0
        for char in view.text:
            if char in _CLOSER:
                stack.append(char)
                deepest = max(deepest, len(stack))
            elif char in ")]}":
                if stack and _CLOSER[stack[-1]] == char:
                    stack.pop()
                    if deepest >= 5 and len(stack) < deepest:
                        return Verdict(True, f"brackets nested {deepest} deep")
                else:
                    stack, deepest = [], 0
        return Verdict(False, "no closed bracket group 5 levels deep")


@constraint("format:quotes", benchmark="ifbench")
class NestedQuotes(Constraint):
    """Quotes nested at least 3 deep, alternating ``"`` and ``'``.

    The reference treats every ``'`` as a quote mark, apostrophes included. Reproduced.
    """

    template = (
        "Include quotes within quotes within quotes, at least 3 levels deep, alternating between "
        "double quotes and single quotes."
    )

    def _check(self, view: TextView) -> Verdict:
        stack: list[str] = []
        reached = depth = 0
        for char in view.text:
            if stack and char == stack[-1]:
                stack.pop()
                depth -= 1
                if reached - depth >= 3:
                    return Verdict(True, f"quotes nested {reached} deep")
            elif char in "\"'":
                stack.append(char)
                depth += 1
                reached = max(reached, depth)
        return Verdict(False, "no quotes closed 3 levels deep")


_LETTER_OPTIONS = re.compile(r"\W*[aA]\W*[bB]\W*[cC]\W*")


@constraint("format:options", benchmark="ifbench")
class AnswerOption(Constraint):
    """The response is one of the options and nothing else.

    Options are split on "/" if there is one, else on "or" (also inside words, as the reference
    does), else on ",". Letter options ("a), b), c)") must match exactly; text options match
    case-insensitively with punctuation trimmed.
    """

    template = "Answer with one of the following options: {options}. Do not give any explanation."

    options: str

    def _validate(self) -> None:
        if not self.options.strip():
            self._fail("options", "must not be empty")

    def _choices(self) -> tuple[bool, list[str]]:
        strict = _LETTER_OPTIONS.match(self.options) is not None
        separator = "/" if "/" in self.options else "or" if "or" in self.options else ","
        return strict, [option.strip() for option in self.options.split(separator)]

    def _render_field(self, name: str, value: object) -> str:
        return str(value)

    def _check(self, view: TextView) -> Verdict:
        strict, choices = self._choices()
        if strict:
            passed = view.text in choices
        else:
            answer = view.text.strip(PUNCT_SPACE).lower()
            passed = any(c.strip(PUNCT_SPACE).lower() == answer for c in choices)
        shown = view.text.strip()[:40]
        return Verdict(passed, f"answer {shown!r} {'is' if passed else 'is not'} one of {choices}")


@constraint("format:newline", benchmark="ifbench")
class WordPerLine(Constraint):
    """One word per line: as many non-empty lines as words (punctuation deleted first)."""

    template = "Write each word on a new line."

    def _check(self, view: TextView) -> Verdict:
        text = without_punctuation(view.text).strip()
        lines = [line for line in text.split("\n") if line != ""]
        count = len(text.split())
        return Verdict(len(lines) == count, f"{len(lines)} lines for {count} words")


def _is_emoji(char: str) -> bool:
    import emoji

    return emoji.is_emoji(char)


@constraint("format:emoji", benchmark="ifbench")
class EmojiPerSentence(Constraint):
    """Every sentence ends with an emoji (in its last two characters, punctuation deleted), or
    the next sentence starts with one (Punkt often puts the emoji there)."""

    template = "Please use an emoji at the end of every sentence."

    def _check(self, view: TextView) -> Verdict:
        sentences = view.sentences
        for index, sentence in enumerate(sentences):
            stripped = without_punctuation(sentence).strip()
            if not stripped:
                return Verdict(False, f"sentence {index + 1} is only punctuation")
            if _is_emoji(stripped[-1]) or _is_emoji(stripped[-2] if len(stripped) > 1 else stripped[-1]):
                continue
            if index == len(sentences) - 1:
                return Verdict(False, "the last sentence ends without an emoji")
            following = without_punctuation(sentences[index + 1]).strip()
            if not following or not _is_emoji(following[0]):
                return Verdict(False, f"sentence {index + 1} ends without an emoji")
        return Verdict(True, "every sentence ends with an emoji")


@constraint("format:line_indent", benchmark="ifbench")
class IndentStairs(Constraint):
    """Each line is indented with more spaces than the line before (blank lines dropped)."""

    template = "Create stairs by incrementally indenting each new line."

    def _check(self, view: TextView) -> Verdict:
        lines = view.text.split("\n")
        # The reference removes blank lines while iterating over the same list, which skips the
        # line after each removed one: of two consecutive blank lines only the first goes (the
        # second is then compared, with indentation 0 or its spaces). Reproduced on purpose.
        for line in lines:
            if not line.strip():
                lines.remove(line)
        for number in range(len(lines) - 1):
            here = len(lines[number]) - len(lines[number].lstrip(" "))
            after = len(lines[number + 1]) - len(lines[number + 1].lstrip(" "))
            if after <= here:
                return Verdict(
                    False, f"line {number + 2} is indented {after}, not more than {here}"
                )
        return Verdict(True, "each line is indented more than the previous one")


_NOT_QUOTE = string.digits + string.punctuation.replace('"', "")


@constraint("format:quote_unquote", benchmark="ifbench")
class QuoteThenExplanation(Constraint):
    """No two quoted phrases back to back, and the text does not end with a quote.

    Whitespace is removed first; trailing digits and punctuation other than ``"`` are ignored at
    the end. Only straight double quotes count, as in the reference.
    """

    template = "Every quoted phrase must be followed by an unquoted explanation."

    def _check(self, view: TextView) -> Verdict:
        text = "".join(view.text.replace("'\"'", "").split())
        if '""' in text:
            return Verdict(False, "two quoted phrases follow each other")
        stripped = text.strip(_NOT_QUOTE)
        if stripped and stripped[-1] == '"':
            return Verdict(False, "the response ends with a quotation")
        return Verdict(True, "every quotation is followed by an explanation")


@constraint("format:list", benchmark="ifbench")
class CustomBullets(Constraint):
    """The marker ``sep`` occurs at least twice (anywhere: line starts are not checked)."""

    template = "Answer with a list of items, instead of bullet points use {sep}."

    sep: str

    def _validate(self) -> None:
        if not self.sep:
            self._fail("sep", "must not be empty")

    def _render_field(self, name: str, value: object) -> str:
        return str(value)

    def _check(self, view: TextView) -> Verdict:
        found = view.text.count(self.sep)
        return Verdict(found >= 2, f"expected {self.sep!r} at least twice, found {found}")


@constraint("format:thesis", benchmark="ifbench")
class ItalicThesis(Constraint):
    """A non-empty ``<i>``/``<em>`` span followed by some text.

    As in the reference, ``</i>`` is looked for first even after ``<em>``, and the thesis is cut
    with ``<i>``'s lengths (3 and 4 characters) whichever tag was found.
    """

    template = "Each section must begin with a thesis statement in italics, use HTML to indicate the italics."

    def _check(self, view: TextView) -> Verdict:
        text = view.text
        start = text.find("<i>")
        if start == -1:
            start = text.find("<em>")
            if start == -1:
                return Verdict(False, "no <i> or <em> tag")
        text = text[start:]
        end = text.find("</i>")
        if end == -1:
            end = text.find("</em>")
            if end == -1:
                return Verdict(False, "the italic span is not closed")
        if not text[3:end].strip():
            return Verdict(False, "the italic thesis is empty")
        if not text[end + 4 :].strip():
            return Verdict(False, "no text after the italic thesis")
        return Verdict(True, "an italic thesis is followed by text")


@constraint("format:sub-bullets", benchmark="ifbench")
class SubBullets(Constraint):
    """Every ``*`` is followed by a ``-`` before the next ``*`` (a text with no ``*`` passes)."""

    template = (
        "Your response must include bullet points denoted by * and at least one sub-bullet point "
        "denoted by - for each bullet point."
    )

    def _check(self, view: TextView) -> Verdict:
        for number, part in enumerate(view.text.split("*")[1:], start=1):
            if "-" not in part:
                return Verdict(False, f"bullet {number} has no '-' sub-bullet")
        return Verdict(True, "every bullet has a sub-bullet")


@constraint("format:no_bullets_bullets", benchmark="ifbench")
class SentencesThenBullets(Constraint):
    """At least two sentences, then at least two ``*`` lines, and nothing after them."""

    template = (
        "Your answer must contain at least two sentences ending in a period followed by at least "
        "two bullet points denoted by *."
    )

    def _check(self, view: TextView) -> Verdict:
        sentences_so_far = 0
        bullets = 0
        # The reference keeps the last line's sentence list in its "still in the sentences" flag,
        # so a blank line (no sentences) before the bullets ends the sentence part. Reproduced.
        in_sentences: bool | list[str] = True
        for line in view.text.split("\n"):
            if line.strip().startswith("*"):
                in_sentences = False
                if sentences_so_far < 2:
                    return Verdict(False, f"only {sentences_so_far} sentences before the bullets")
                bullets += 1
            elif in_sentences:
                in_sentences = punkt.split_sentences(line.strip())
                sentences_so_far += len(in_sentences)
            else:
                return Verdict(False, "text after the bullet points")
        return Verdict(bullets >= 2, f"{sentences_so_far} sentences, then {bullets} bullets")


@constraint("format:title_case", benchmark="ifbench")
class TitleCase(Constraint):
    """No NLTK word token starting with a letter is all lower case, nor "xYZ"-cased.

    Mixed tokens such as "iPhone" or "McDonald" pass, as in the reference.
    """

    template = "Write the entire response in title case (capitalize the first letter of every major word)."

    def _check(self, view: TextView) -> Verdict:
        for token in view.word_tokens:
            if not token or not token[0].isalpha():
                continue
            if len(token) == 1:
                if token.islower():
                    return Verdict(False, f"{token!r} is lower case")
                continue
            head, rest = token[0], token[1:]
            if head.isupper() and rest.islower():
                continue
            if head.islower() and (rest.isupper() or rest.islower()):
                return Verdict(False, f"{token[:20]!r} is not capitalized")
        return Verdict(True, "every word is capitalized")


@constraint("format:output_template", benchmark="ifbench")
class OutputTemplate(Constraint):
    """The three labels of the template appear (anywhere, in any order)."""

    template = (
        "Use this exact template for your response: My Answer: [answer] My Conclusion: "
        "[conclusion] Future Outlook: [outlook]"
    )

    def _check(self, view: TextView) -> Verdict:
        missing = [
            label for label in ("My Answer:", "My Conclusion:", "Future Outlook:") if label not in view.text
        ]
        if missing:
            return Verdict(False, f"missing {missing[0]!r}")
        return Verdict(True, "all template labels present")


@constraint("format:no_whitespace", benchmark="ifbench")
class NoWhitespace(Constraint):
    """No whitespace character at all."""

    template = "The output should not contain any whitespace."

    def _check(self, view: TextView) -> Verdict:
        found = sum(1 for char in view.text if char.isspace())
        return Verdict(found == 0, f"found {found} whitespace characters")
