"""Linear-time equivalents of the IFEval reference's regular expressions.

Several reference patterns backtrack quadratically on adversarial text (a 10 MB line of ``[``,
a long run of newlines). Each function here returns exactly what the reference expression
returns, in time linear in the text; ``tests/constraints/test_patterns.py`` checks each one
against the original expression on random strings over the characters that matter.
"""

from __future__ import annotations

import re

_WS_RUN = re.compile(r"\s*")


def count_placeholders(text: str) -> int:
    """``len(re.findall(r"\\[.*?\\]", text))``: a ``[`` closed by the next ``]`` on its line."""
    count = 0
    pos = 0
    find = text.find
    while True:
        start = find("[", pos)
        if start < 0:
            return count
        newline = find("\n", start + 1)
        line_end = len(text) if newline < 0 else newline
        close = find("]", start + 1, line_end)
        if close >= 0:
            count += 1
            pos = close + 1
        elif newline < 0:
            return count
        else:
            # No ``]`` before the end of this line: no start on this line can match.
            pos = newline + 1


def count_line_items(text: str, marker: str, forbid_next: str | None) -> int:
    """``len(re.findall(r"^\\s*" + marker + ..., text, re.MULTILINE))`` for IFEval's bullets.

    With ``forbid_next="*"`` this is ``^\\s*\\*[^\\*].*$``; with ``None`` it is ``^\\s*-.*$``.
    ``\\s*`` may cross newlines, so a naive scan from every line start is quadratic on a run of
    blank lines; the end of the current whitespace run is remembered instead.
    """
    n = len(text)
    count = 0
    pos = 0
    run_start = run_end = -1
    find = text.find
    while pos <= n:
        if pos > 0 and text[pos - 1] != "\n":  # ``^``: only at line starts
            newline = find("\n", pos)
            if newline < 0:
                return count
            pos = newline + 1
            continue
        if run_start <= pos < run_end:
            q = run_end  # inside a whitespace run already measured: it ends at the same place
        else:
            q = _WS_RUN.match(text, pos).end()
            run_start, run_end = pos, q
        # ``\s*`` giving characters back cannot help: the next char would be whitespace.
        matched = q < n and text[q] == marker
        if matched and forbid_next is not None:
            matched = q + 1 < n and text[q + 1] != forbid_next
            body = q + 2
        else:
            body = q + 1
        if matched:
            count += 1
            end = find("\n", body)
            if end < 0:
                return count
            pos = end  # findall resumes where the match ended (just before the newline)
        else:
            newline = find("\n", pos)
            if newline < 0:
                return count
            pos = newline + 1
    return count


def titles(text: str) -> list[str]:
    """``re.findall(r"<<[^\\n]+>>", text)``: at most one (greedy) match per line."""
    found = []
    for line in text.split("\n"):
        start = line.find("<<")
        if start < 0:
            continue
        end = line.rfind(">>")
        if end >= start + 3:
            found.append(line[start : end + 2])
    return found
