"""A judge asked about one requirement at a time (RealInstruct, DeCRIM, InFoBench's DRFR), and the
check of such a judge against the verifiers (``adhere judge-check``).

The judge gets the request, the response and one requirement, and answers YES or NO with a
reason. Where the backend gives the first token's log-probabilities, the judge's probability of
YES is kept too (the YES-like tokens' share of the YES-like and NO-like ones), which ranks answers
for an AUROC and for abstaining. An answer that starts with neither is a judgment without a
verdict: recorded, never read as either.

``adhere judge-check`` asks the judge about IFEval or IFBench responses whose truth the verifiers
know: each instruction of each prompt becomes a requirement (the constraint's own sentence), and
the judge's YES/NO is compared with the strict verdict. Per instruction id and overall: agreement,
precision and recall of "met", with 95% Wilson intervals, and the AUROC of the judge's
probability where there is one: how far the judge can be trusted, measured, not assumed.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from adhere.errors import InputError
from adhere.improve.base import read_yes_no
from adhere.models.base import ModelCallError
from adhere.models.config import GenerationConfig

#: adhere's requirement prompt; ``{request}``, ``{response}`` and ``{requirement}`` are filled.
REQUIREMENT_PROMPT = """You check whether a response meets one requirement of the request it answers.

Request:
<<<
{request}
>>>

Response:
<<<
{response}
>>>

Requirement: {requirement}

Judge only this requirement, strictly, as a careful checker would. Does the response meet it?
Answer YES or NO as the first word, then give one short reason."""



@dataclasses.dataclass(frozen=True)
class RequirementJudge:
    """The requirement prompt, the call (greedy, a short reason, the top log-probabilities) and its reading."""

    template: str = REQUIREMENT_PROMPT
    config: GenerationConfig = GenerationConfig(temperature=0.0, max_tokens=64, top_logprobs=5)

    def __post_init__(self) -> None:
        for name in ("request", "response", "requirement"):
            if self.template.count("{" + name + "}") != 1:
                raise InputError(f"the requirement prompt must hold {{{name}}} exactly once")

    def messages(self, request: str, response: str, requirement: str) -> list[dict[str, str]]:
        values = {"request": request, "response": response, "requirement": requirement}
        # One pass over the prompt: a value that holds a placeholder's text is never filled itself.
        text = re.sub(r"\{(request|response|requirement)\}", lambda m: values[m.group(1)], self.template)
        return [{"role": "user", "content": text}]

    @staticmethod
    def read(text: str, top_logprobs: Sequence[tuple[str, float]] | None) -> tuple[bool | None, float | None]:
        """(met, probability of YES): see :func:`adhere.improve.base.read_yes_no`."""
        return read_yes_no(text, top_logprobs)


async def judge_requirements(judge: RequirementJudge, backend: Any, questions: Sequence[Mapping[str, Any]],
                             cache: Any = None, progress: Any = None) -> list[dict[str, Any]]:  # fmt: skip
    """Ask the judge each question ({request, response, requirement, ...}); each returns as a row
    with ``met`` (True, False, or None: no verdict), ``p_yes``, the judge's ``answer`` and any
    ``error`` (a failed call), the question's own fields kept."""
    import asyncio

    from adhere.bench.generate import settle_all
    from adhere.models.cache import cached_complete

    limit = getattr(backend, "concurrency", None)
    gate = asyncio.Semaphore(limit) if limit else None
    rows: list[dict[str, Any]] = [{} for _ in questions]

    async def one(index: int, question: Mapping[str, Any]) -> None:
        row = {**question, "met": None, "p_yes": None, "answer": None, "error": None, "cached": None}
        rows[index] = row
        messages = judge.messages(question["request"], question["response"], question["requirement"])
        try:
            record, cached = await cached_complete(backend, cache, messages, judge.config, 0, gate=gate)
        except ModelCallError as error:
            row["error"] = str(error)
        else:
            row["met"], row["p_yes"] = judge.read(record["text"], record.get("top_logprobs"))
            row.update(answer=record["text"], cached=cached)
            if row["met"] is None:
                row["error"] = "the judge's answer starts with neither YES nor NO"
        if progress:
            progress(bool(row["cached"]))

    tasks = [asyncio.ensure_future(one(i, q)) for i, q in enumerate(questions)]
    await settle_all(tasks)  # the first error (a full disk, a bug) cancels the rest
    return rows


def check_questions(items: Iterable[Any], limit: int | None = None) -> list[dict[str, Any]]:
    """One question per instruction of each scored item (an ``adhere.bench.items.Item`` with a
    response): the constraint's sentence as the requirement, the strict verdict as the truth."""
    from adhere.constraints.evaluate import evaluate

    questions = []
    for count, item in enumerate(items):
        if limit is not None and count >= limit:
            break
        if item.response is None:
            continue
        verdicts = evaluate(item.response, item.constraints).strict
        for index, (instruction_id, constraint, verdict) in enumerate(zip(item.instruction_id_list, item.constraints,
                                                                          verdicts)):  # fmt: skip
            questions.append({"key": item.key, "index": index, "instruction_id": instruction_id,
                              "request": item.prompt, "response": item.response,
                              "requirement": constraint.describe(), "truth": verdict.passed})  # fmt: skip
    return questions


def wilson(successes: int, n: int, z: float = 1.959963984540054) -> list[float] | None:
    """The 95% Wilson score interval of a proportion, or None for no trials."""
    if n == 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [max(0.0, centre - half), min(1.0, centre + half)]


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """The area under the ROC curve of ``scores`` for ``labels`` (ties count half); None without both classes."""
    positives = [s for s, y in zip(scores, labels) if y]
    negatives = [s for s, y in zip(scores, labels) if not y]
    if not positives or not negatives:
        return None
    ranked = sorted((s, y) for s, y in zip(scores, labels))
    # Mann-Whitney U with average ranks for ties.
    ranks: list[float] = [0.0] * len(ranked)
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(r for r, (_, y) in zip(ranks, ranked) if y)
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def agreement(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """How the judge's verdicts (``met``) agree with the truth: counts, agreement, precision and
    recall of "met" with Wilson intervals, and the AUROC of ``p_yes``. Rows without a verdict are
    counted apart (``no_verdict``)."""
    judged = [r for r in rows if r["met"] is not None]
    tp = sum(r["met"] and r["truth"] for r in judged)
    fp = sum(r["met"] and not r["truth"] for r in judged)
    fn = sum(not r["met"] and r["truth"] for r in judged)
    tn = len(judged) - tp - fp - fn
    scored = [r for r in rows if r["p_yes"] is not None]

    def share(a: int, b: int) -> dict[str, Any]:
        return {"value": a / b if b else None, "interval": wilson(a, b), "n": b}

    return {
        "questions": len(rows), "no_verdict": len(rows) - len(judged), "true_met": tp, "false_met": fp,
        "false_not_met": fn, "true_not_met": tn, "agreement": share(tp + tn, len(judged)),
        "precision": share(tp, tp + fp), "recall": share(tp, tp + fn),
        "truth_met_rate": share(sum(bool(r["truth"]) for r in rows), len(rows)),
        "judge_met_rate": share(tp + fp, len(judged)),
        "auroc": auroc([r["p_yes"] for r in scored], [r["truth"] for r in scored]), "auroc_n": len(scored),
    }  # fmt: skip


def agreement_by_id(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """:func:`agreement` per instruction id, ids in order."""
    ids = sorted({r["instruction_id"] for r in rows})
    return {i: agreement([r for r in rows if r["instruction_id"] == i]) for i in ids}


def read_template(path: str | Path | None) -> RequirementJudge:
    """The requirement judge with adhere's prompt, or the one in ``path``."""
    if path is None:
        return RequirementJudge()
    try:
        return RequirementJudge(template=Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (the requirement prompt)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a readable text file ({error})") from None


def selective(confidences: Sequence[float], truths: Sequence[bool],
              thresholds: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)) -> dict[str, Any]:  # fmt: skip
    """Answering only above a confidence: per threshold, the coverage (share answered) and the
    accuracy of the answered ones (with its Wilson interval), and the confidence's AUROC."""
    curve = []
    for threshold in thresholds:
        kept = [t for c, t in zip(confidences, truths) if c >= threshold]
        right = sum(kept)
        curve.append({"threshold": threshold, "answered": len(kept),
                      "coverage": len(kept) / len(truths) if truths else None,
                      "accuracy": right / len(kept) if kept else None, "interval": wilson(right, len(kept))})  # fmt: skip
    return {"prompts": len(truths), "auroc": auroc(confidences, truths), "curve": curve}
