"""IFBench ``custom:*``: single-prompt tasks with a fixed answer shape (lists, CSV, reversals)."""

from __future__ import annotations

import csv
import io
import re

from adhere.constraints.base import Constraint, Verdict
from adhere.constraints.ifbench.tokens import PUNCT_SPACE, ascii_fold, without_punctuation
from adhere.constraints.registry import constraint
from adhere.text import punkt
from adhere.text.view import TextView

_MULTIPLES = [str(n) for n in range(14, 51, 7)]


@constraint("custom:multiples", benchmark="ifbench")
class MultiplesOfSeven(Constraint):
    """The numbers in the response are exactly 14, 21, 28, 35, 42, 49, in that order."""

    template = "Count from 10 to 50 but only print multiples of 7."

    def _check(self, view: TextView) -> Verdict:
        numbers = re.findall(r"\d+", view.text.replace(",", ", "))
        passed = numbers == _MULTIPLES
        return Verdict(passed, f"found numbers {' '.join(numbers[:10])}{' ...' if len(numbers) > 10 else ''}")


_QUESTION_SPLIT = re.compile(r"\n*(?:Question \d+[\.|\):;]?\s*)")
_OPTION_LINE = re.compile(r"^[A-Ea-e][\.|\)]\s*\w+")


@constraint("custom:mcq_count_length", benchmark="ifbench")
class MultipleChoiceQuestions(Constraint):
    """Starts with "Question", has 4 questions of 5 options each, questions growing in length."""

    template = (
        "Generate 4 multiple choice questions with 5 options each about '20th century art history'. "
        'Each question should start with the label "Question". The questions should get '
        "progressively longer. Do not provide an explanation."
    )

    def _check(self, view: TextView) -> Verdict:
        text = view.text
        if text[text.find("Question") :] != text:
            return Verdict(False, 'the response does not start with "Question"')
        parts = _QUESTION_SPLIT.split(text)
        if parts[0] == "":
            parts = parts[1:]
        questions = [q.strip() for q in parts if q.strip()]
        if len(questions) != 4:
            return Verdict(False, f"expected 4 questions, found {len(questions)}")
        lengths = []
        for number, question in enumerate(questions, start=1):
            stem, options, in_options = "", 0, False
            for line in question.split("\n"):
                if _OPTION_LINE.match(line.strip()):
                    options += 1
                    in_options = True
                elif not in_options:
                    stem += " " + line.strip()
            if options != 5:
                return Verdict(False, f"question {number} has {options} options, expected 5")
            lengths.append(len(stem.strip()))
        passed = all(a < b for a, b in zip(lengths, lengths[1:]))
        return Verdict(passed, f"question lengths {lengths}")


@constraint("custom:reverse_newline", benchmark="ifbench")
class AfricaReverse(Constraint):
    """From the first line naming Zimbabwe on: at least 52 lines in reverse alphabetical order.

    Lines are compared with accents folded to ASCII, as the reference does.
    """

    template = "List the countries of Africa in reverse alphabetical order, each on a new line."

    def _check(self, view: TextView) -> Verdict:
        lines = [line.strip(PUNCT_SPACE) for line in view.text.split("\n")]
        lines = [line for line in lines if line]
        start = next((i for i, line in enumerate(lines) if "Zimbabwe" in line), None)
        if start is None:
            return Verdict(False, "no line names Zimbabwe")
        target = [ascii_fold(line) for line in lines[start:]]
        if len(target) < 52:
            return Verdict(False, f"expected at least 52 lines from Zimbabwe on, found {len(target)}")
        passed = target == sorted(target, reverse=True)
        return Verdict(passed, "lines are in reverse alphabetical order" if passed else "lines are not in reverse alphabetical order")


@constraint("custom:word_reverse", benchmark="ifbench")
class WordsReversed(Constraint):
    """Read backwards word by word, the answer contains "bald eagle" and is one sentence."""

    template = (
        "What animal is the national symbol of the US? Respond to this query, but make your "
        "sentence in reverse order of what it should be, per word."
    )

    def _check(self, view: TextView) -> Verdict:
        text = without_punctuation(view.lower.strip())
        text = " ".join(text.split()[::-1])
        if "bald eagle" not in text:
            return Verdict(False, "'bald eagle' not found reading the words backwards")
        passed = text in punkt.split_sentences(text)
        return Verdict(passed, "one reversed sentence" if passed else "not a single sentence")


@constraint("custom:character_reverse", benchmark="ifbench")
class CharactersReversed(Constraint):
    """The response contains "elgae dlab" ("bald eagle" backwards), in any case."""

    template = (
        "What animal is the national symbol of the US? Respond to this query, but make your "
        "sentence in reverse order of what it should be, per letter."
    )

    def _check(self, view: TextView) -> Verdict:
        passed = "elgae dlab" in view.lower
        return Verdict(passed, f"'elgae dlab' {'found' if passed else 'not found'}")


@constraint("custom:sentence_alphabet", benchmark="ifbench")
class AlphabetSentences(Constraint):
    """26 sentences whose first words start with a, b, c, ... z in order."""

    template = (
        "Tell me a 26-sentence story where each sentence's first word starts with the letters of "
        "the alphabet in order."
    )

    def _check(self, view: TextView) -> Verdict:
        sentences = view.sentences
        if len(sentences) != 26:
            return Verdict(False, f"expected 26 sentences, found {len(sentences)}")
        for index, sentence in enumerate(sentences):
            tokens = sentence.lstrip().split()
            letter = chr(97 + index)
            if not tokens or tokens[0].lower()[0] != letter:
                return Verdict(False, f"sentence {index + 1} does not start with {letter!r}")
        return Verdict(True, "sentences run from a to z")


_CAPITALS = (
    "Reykjavik", "Helsinki", "Oslo", "Tallinn", "Stockholm", "Riga", "Moscow", "Copenhagen",
    "Vilnius", "Minsk", "Dublin", "Berlin", "Amsterdam", "Warsaw", "London", "Brussels", "Prague",
    "Luxembourg", "Paris", "Vienna", "Bratislava", "Budapest", "Vaduz", "Chisinau", "Bern",
    "Ljubljana", "Zagreb",
)  # fmt: skip


@constraint("custom:european_capitals_sort", benchmark="ifbench")
class EuropeanCapitals(Constraint):
    """Exactly the reference's 27 capitals, comma-separated, from north to south."""

    template = (
        "Give me the names of all capital cities of european countries whose latitude is higher "
        "than than 45 degrees? List the capital cities without country names, separated by "
        "commas, sorted by latitude, from highest to lowest."
    )

    def _check(self, view: TextView) -> Verdict:
        names = [name for name in ascii_fold(view.text).split(",") if name.strip()]
        if len(names) != len(_CAPITALS):
            return Verdict(False, f"expected {len(_CAPITALS)} capitals, found {len(names)}")
        for index, (name, expected) in enumerate(zip(names, _CAPITALS), start=1):
            if name.strip() != expected:
                return Verdict(False, f"capital {index} is {name.strip()[:20]!r}, expected {expected!r}")
        return Verdict(True, "all capitals in order")


class _NotCsv(Exception):
    """The text cannot be read as CSV at all."""


def _rows(text: str, delimiter: str = ",") -> list[list[str]]:
    """The reference's ``csv.reader(io.StringIO(text))`` rows wherever that reads the text; where
    it raises, adhere reads on or refuses the text in a verdict:

    * A bare carriage return inside a line ("new-line character seen in unquoted field"): the
      text is read again with ``newline=""``, where it ends a row.
    * A field longer than the csv module's default limit (131,072 characters) is read: the limit
      is raised to the text's length (only ever raised; it is the process's setting).
    * Anything the reader still refuses is not CSV.
    """
    if len(text) > csv.field_size_limit():
        csv.field_size_limit(len(text) + 1)
    try:
        return list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error:
        pass
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise _NotCsv(str(error)) from None


@constraint("custom:csv_city", benchmark="ifbench")
class CityCsv(Constraint):
    """CSV with the header ID,Country,City,Year,Count and 7 rows of 5 fields."""

    template = (
        'Generate CSV data: The column names are ["ID", "Country", "City", "Year", "Count"], the '
        "data should be comma delimited. Please generate 7 rows."
    )

    def _check(self, view: TextView) -> Verdict:
        try:
            rows = _rows(view.text)
        except _NotCsv as error:
            return Verdict(False, f"not CSV: {error}")
        if len(rows) != 8:
            return Verdict(False, f"expected a header and 7 rows, found {len(rows)} rows")
        if rows[0] != ["ID", "Country", "City", "Year", "Count"]:
            return Verdict(False, f"wrong header {rows[0][:5]}")
        for number, row in enumerate(rows[1:], start=1):
            if len(row) != 5:
                return Verdict(False, f"row {number} has {len(row)} fields")
        return Verdict(True, "header and 7 rows of 5 fields")


_PRODUCT_HEADER = re.compile(
    r'^(ProductID|"ProductID"),[ \t]*(Category|"Category"),[ \t]*(Brand|"Brand"),'
    r'[ \t]*(Price|"Price"),[ \t]*(Stock|"Stock")$'
)
_SPECIAL_FIELD = re.compile(r'".*[^\d\w\s].*"')


@constraint("custom:csv_special_character", benchmark="ifbench")
class SpecialCharacterCsv(Constraint):
    """Product CSV, 14 rows of 5 fields, one quoted field holding a special character.

    Every ``"`` is tripled before parsing so quotes survive as field text (the reference's way).
    It returns at the first row with such a field, so rows after it are not checked. Reproduced.
    """

    template = (
        'Generate CSV data: The column names are ["ProductID", "Category", "Brand", "Price", '
        '"Stock"], the data should be comma delimited. Please generate 14 rows. Add one field '
        "which contains a special character and enclose it in double quotes."
    )

    def _check(self, view: TextView) -> Verdict:
        if not _PRODUCT_HEADER.match(view.text.split("\n")[0].strip()):
            return Verdict(False, "wrong header")
        try:
            rows = _rows(view.text.replace('"', '"""'))
        except _NotCsv as error:
            return Verdict(False, f"not CSV: {error}")
        if len(rows) != 15:
            return Verdict(False, f"expected a header and 14 rows, found {len(rows)} rows")
        for number, row in enumerate(rows[1:], start=1):
            if len(row) != 5:
                return Verdict(False, f"row {number} has {len(row)} fields")
            if any(_SPECIAL_FIELD.match(field) for field in row):
                return Verdict(True, f"row {number} has a quoted field with a special character")
        return Verdict(False, "no quoted field with a special character")


_STUDENT_HEADER = re.compile(
    r'^(StudentID|"StudentID")\t *(Subject|"Subject")\t *(Grade|"Grade")\t *'
    r'(Semester|"Semester")\t *(Score|"Score")$'
)


@constraint("custom:csv_quotes", benchmark="ifbench")
class QuotedTsv(Constraint):
    """Tab-separated, header and 3 rows, 5 fields each, every field in double quotes.

    An empty field makes the reference raise IndexError; adhere counts it as not quoted.
    """

    template = (
        'Generate CSV data: The column names are ["StudentID", "Subject", "Grade", "Semester", '
        '"Score"], the data should be tab delimited. Please generate 3 rows and enclose each '
        "single field in double quotes."
    )

    def _check(self, view: TextView) -> Verdict:
        if not _STUDENT_HEADER.match(view.text.split("\n")[0].strip()):
            return Verdict(False, "wrong header")
        try:
            rows = _rows(view.text.replace('"', '"""'), delimiter="\t")
        except _NotCsv as error:
            return Verdict(False, f"not CSV: {error}")
        if len(rows) != 4:
            return Verdict(False, f"expected a header and 3 rows, found {len(rows)} rows")
        for number, row in enumerate(rows):
            if len(row) != 5:
                return Verdict(False, f"row {number} has {len(row)} fields")
            for field in row:
                field = field.strip()
                if not (field and field[0] == '"' and field[-1] == '"'):
                    return Verdict(False, f"row {number} has an unquoted field {field[:20]!r}")
        return Verdict(True, "header and 3 rows of quoted fields")


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@constraint("custom:date_format_list", benchmark="ifbench")
class NapoleonDates(Constraint):
    """Comma-separated YYYY-MM-DD dates, years 1769 to 1821, with plausible months and days."""

    template = (
        "List the start dates of all the battles Napoleon fought separated by commas, use the "
        "following date format: YYYY-MM-DD. Do not provide an explanation."
    )

    def _check(self, view: TextView) -> Verdict:
        for date in view.stripped.split(","):
            date = date.strip()
            if not _DATE.match(date):
                return Verdict(False, f"{date[:20]!r} is not YYYY-MM-DD")
            year, month, day = (int(part) for part in date.split("-"))
            if not 1769 <= year <= 1821:
                return Verdict(False, f"{date} is outside Napoleon's lifetime")
            # The reference checks months and days loosely: month 0 and day 0 pass.
            if (
                month > 12
                or (month in (1, 3, 5, 7, 8, 10, 12) and day > 31)
                or (month in (4, 6, 9, 11) and day > 30)
                or (month == 2 and day > 29)
            ):
                return Verdict(False, f"{date} is not a valid date")
        return Verdict(True, "every item is a date in Napoleon's lifetime")
