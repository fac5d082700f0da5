"""Training data from a run: rejection-sampled SFT rows and preference pairs, in TRL's formats.

Input: a run directory of ``adhere eval`` (usually on ``adhere synth`` prompts, often with
``--strategy``). Every response the run considered for a prompt is a candidate: a strategy's
candidates, or the ``--samples`` rows of a plain run. Each is scored with the verifiers (the
fraction of the prompt's constraints it follows, strict).

* SFT (``make-sft``): per prompt, the best candidate, kept only if it follows every constraint
  (rejection sampling). Rows: ``{"messages": [user, assistant], "provenance": {...}}``, TRL's
  conversational SFT format.
* Pairs (``make-pairs``): per prompt, chosen = the best candidate that follows every
  constraint (for ``decrim``/``spar`` runs with none, the last refinement if it beats the
  original), rejected = a failing candidate (the original answer of a refinement chain, else the
  lowest-scoring one). Rows: ``{"prompt": [user], "chosen": [assistant], "rejected": [assistant]}``,
  TRL's conversational DPO format, with provenance.

With ``repair`` (``--repair``), a prompt none of whose candidates follows every constraint gets
one more: the best candidate that ``adhere.improve.repair`` can edit into one that does (its
origin says ``repair of ...``); the SFT row uses it, and its pair is (the repair, the original).
The card counts the repaired rows.

An answer cut off at the token limit (the run recorded ``finish_reason: "length"``) ends
mid-thought even when every check passes, and training on it teaches the model to ramble to the
limit. Such answers are never an SFT row, a chosen answer or a repair's source unless
``keep_cut_off`` (``--keep-cut-off``); the card counts them. They may still be a rejected one: where
no candidate scores below a complete passing chosen answer, a cut-off candidate is rejected in its
place (it passes the checks but never ends), so DPO also learns to finish; the card counts these as
``pairs_complete_over_cut_off``. Runs that did not record why generation stopped are taken as
complete.

With ``end_cut_off`` (``--end-cut-off``), each cut-off answer also gets an ending
(``adhere.improve.repair.ending``): the answer stopped before the first line or sentence it repeats,
else at its last complete sentence; a complete candidate (origin ``ending of ...``) scored like any
other, which may be the SFT row, the chosen answer or a repair's source. A pair whose chosen answer
was made from an ending rejects the cut-off answer itself (or the greedy answer, where that is
worse), so DPO learns to stop where the model looped. The card counts ``ended`` candidates and the ``rows_from_endings``.

With ``max_repetition`` (``--max-repetition``), an answer whose words repeat themselves (the share
of its word 4-grams that repeat an earlier one, ``adhere.improve.repair.repetition``, above the
bound) is left out as a cut-off one is: never an SFT row, a chosen answer or a repair's source, but
a pair may reject it in place of a lower-scoring answer, so DPO learns against the loop. A small
model's passing answers often loop ("It's a way to share ... It's a way to share ..."); training
towards them teaches the loop. The card counts ``repetitive_candidates``, the prompts left with no
answer to train towards, all cut off or repeating (``rejected_all_cut_off_or_repetitive``), and for
SFT those whose every passing answer repeated itself (``rejected_passing_only_when_repetitive``).

A ``best-of-n:N+greedy`` run also holds the greedy answer (origin ``greedy``), the one the model
gives when evaluated. Where it is worse than the chosen answer (it fails a check the chosen one
passes, or it is cut off), it is the rejected answer: the pair then corrects the model's own
evaluated behaviour rather than a sample it would rarely give. The card counts
``pairs_rejecting_greedy``.

Prompts that repeat (same text) are kept once; the card counts what was removed.
"""

from __future__ import annotations

import collections
import dataclasses
import json
from pathlib import Path
from typing import Any

from adhere.bench.items import read_inputs
from adhere.constraints.rows import constraints_of
from adhere.errors import InputError
from adhere.improve.base import GREEDY, Candidate, ranked, score
from adhere.jsonl import read_run_rows
from adhere.improve.repair import repetition
from adhere.synth.settings import RowSettings

ENDED = "ending of "
"""The origin prefix of a cut-off answer's ending (``end_cut_off``)."""
REPAIRED = "repair of "



def _run(run_dir: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    run = Path(run_dir)
    config_path, responses_path = run / "config.json", run / "responses.jsonl"
    if not config_path.exists() or not responses_path.exists():
        raise InputError(f"{run}: not a run directory of `adhere eval` (needs config.json and responses.jsonl)")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    data = config.get("data")
    if not data or not Path(data).is_file():
        raise InputError(f"{run}: its prompts ({data}) are not a local file; training data needs the prompts' constraints")
    prompts = [row for _, row in read_inputs(data)][: config.get("limit") or None]
    by_key: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for row in read_run_rows(responses_path):
        by_key[json.dumps(row["key"])].append(row)
    return config, prompts, by_key


def _candidates(rows: list[dict[str, Any]], constraints) -> list[Candidate]:
    out = []
    for row in rows:
        if row.get("candidates"):
            out += [Candidate(**c) for c in row["candidates"]]
        elif row.get("response") is not None:
            out.append(score(row["response"], constraints, f"sample {row.get('sample', 0)}",
                             finish_reason=row.get("finish_reason")))  # fmt: skip
    return out


def _repaired(candidates: list[Candidate], constraints, usable: list[int]) -> list[Candidate]:
    """``candidates`` plus a verifier-guided repair of the best repairable one of ``usable`` (indices
    best first), if none of those passes. The repair keeps its source's finish reason."""
    from adhere.improve.repair import repair

    if not constraints or any(candidates[i].strict == 1.0 for i in usable):
        return candidates
    for index in usable:
        text = repair(candidates[index].text, constraints)
        if text is not None:
            fixed = score(text, constraints, f"{REPAIRED}{candidates[index].origin}", parent=index,
                          finish_reason=candidates[index].finish_reason)  # fmt: skip
            return [*candidates, fixed]
    return candidates


def _ended(candidates: list[Candidate], constraints) -> list[Candidate]:
    """``candidates`` plus the ending of each cut-off one that has one (complete, its source the parent)."""
    from adhere.improve.repair import ending

    out = list(candidates)
    for index, candidate in enumerate(candidates):
        text = ending(candidate.text) if candidate.cut_off else None
        if text is not None:
            out.append(score(text, constraints, f"{ENDED}{candidate.origin}", parent=index, finish_reason="stop"))
    return out


def make_training_data(run_dir: str | Path, kind: str, repair: bool = False, keep_cut_off: bool = False,
                       end_cut_off: bool = False, max_repetition: float | None = None,
                       ) -> tuple[list[dict[str, Any]], dict[str, Any]]:  # fmt: skip
    """(rows, card) for ``kind`` "sft" or "pairs"; ``repair``, ``keep_cut_off``, ``end_cut_off`` and
    ``max_repetition``: see the module's docstring."""
    RowSettings(keep_cut_off=keep_cut_off, end_cut_off=end_cut_off, max_repetition=max_repetition).check()
    trainable = _Trainable(keep_cut_off, max_repetition)
    config, prompts, by_key = _run(run_dir)
    model, strategy = config.get("model"), config.get("strategy")
    rows, seen = [], set()
    stats = collections.Counter()
    per_id = collections.Counter()
    for line, prompt in enumerate(prompts, start=1):
        ids, constraints = constraints_of(prompt, f"{config['data']} prompt {line}")
        candidates = _candidates(by_key.get(json.dumps(prompt["key"]), []), constraints)
        if not candidates:
            stats["no_response"] += 1
            continue
        stats["prompts_with_candidates"] += 1
        stats["candidates"] += len(candidates)
        stats["passing_candidates"] += sum(c.strict == 1.0 for c in candidates)
        stats["cut_off_candidates"] += sum(c.cut_off for c in candidates)
        if prompt["prompt"] in seen:
            stats["duplicate_prompts_removed"] += 1
            continue
        if end_cut_off:
            made = len(candidates)
            candidates = _ended(candidates, constraints)
            stats["ended"] += len(candidates) - made
        if repair:
            sampled = len(candidates)
            candidates = _repaired(candidates, constraints, trainable.usable(candidates))
            stats["repaired"] += len(candidates) - sampled
        repetitive = [trainable.repeats(c) for c in candidates]
        if max_repetition is not None:
            stats["repetitive_candidates"] += sum(repetitive)
        usable = trainable.usable(candidates)
        if not usable:
            loops = any(repetitive) and not all(trainable.unfinished(c) for c in candidates)
            stats["rejected_all_cut_off_or_repetitive" if loops else "rejected_all_cut_off"] += 1
            continue
        best = usable[0]
        provenance = {"key": prompt["key"], "model": model, "strategy": strategy,
                      "instruction_id_list": list(ids)}  # fmt: skip
        user = [{"role": "user", "content": prompt["prompt"]}]
        if kind == "sft":
            if candidates[best].strict < 1.0:
                passing = [i for i, c in enumerate(candidates) if c.strict == 1.0]
                if any(candidates[i].cut_off for i in passing):
                    stats["rejected_passing_only_when_cut_off"] += 1
                elif passing and all(repetitive[i] for i in passing):
                    stats["rejected_passing_only_when_repetitive"] += 1
                else:
                    stats["rejected_no_passing_candidate"] += 1
                continue
            chosen = candidates[best]
            stats["rows_from_endings"] += ENDED in chosen.origin
            rows.append({"messages": [*user, {"role": "assistant", "content": chosen.text}],
                         "provenance": {**provenance, "origin": chosen.origin, "strict": chosen.strict,
                                        "loose": chosen.loose, "candidates": len(candidates)}})  # fmt: skip
        else:
            pair = _pair(candidates, best, trainable)
            if pair is None:
                stats["no_pair"] += 1
                continue
            chosen, rejected = pair
            stats["rows_from_endings"] += ENDED in chosen.origin
            if rejected.cut_off and rejected.strict >= chosen.strict:
                stats["pairs_complete_over_cut_off"] += 1
            if rejected.origin == GREEDY:
                stats["pairs_rejecting_greedy"] += 1
            rows.append({"prompt": user, "chosen": [{"role": "assistant", "content": chosen.text}],
                         "rejected": [{"role": "assistant", "content": rejected.text}],
                         "provenance": {**provenance, "chosen": {"origin": chosen.origin, "strict": chosen.strict},
                                        "rejected": {"origin": rejected.origin, "strict": rejected.strict,
                                                     "failed": rejected.failed, "cut_off": rejected.cut_off}}})  # fmt: skip
        seen.add(prompt["prompt"])
        per_id.update(ids)
    card = {
        "kind": "SFT (TRL conversational 'messages')" if kind == "sft" else "preference pairs (TRL conversational DPO)",
        "source_run": str(Path(run_dir)),
        "model": model,
        "strategy": strategy,
        "repair": repair,
        "keep_cut_off": keep_cut_off,
        "end_cut_off": end_cut_off,
        "max_repetition": max_repetition,
        "rows": len(rows),
        "prompts": len(prompts),
        **dict(stats),
        "candidate_pass_rate": stats["passing_candidates"] / stats["candidates"] if stats["candidates"] else None,
        "prompt_pass_rate": len(rows) / stats["prompts_with_candidates"] if kind == "sft" and stats["prompts_with_candidates"] else None,
        "per_instruction_id": dict(sorted(per_id.items())),
    }
    return rows, card


def why_empty(card: dict[str, Any], tokens: str = "max_tokens") -> str:
    """Why rows were not made, from their card, and what to change (``tokens``: what the token
    limit is called where the user sets it)."""
    if not card.get("candidates"):
        return "the run has no answered prompts (its answers failed or it was not run to the end)"
    cut_off = card.get("cut_off_candidates", 0)
    if cut_off and not card.get("keep_cut_off"):
        end = "" if card.get("end_cut_off") else " (or end them where they last made sense: end_cut_off)"
        return (f"{cut_off} of {card['candidates']} answers were cut off at the token limit and are left out; "
                f"raise {tokens}{end}")  # fmt: skip
    if card.get("repetitive_candidates") and not card["kind"].startswith("preference"):
        return (f"the answers that passed repeat themselves above max_repetition {card['max_repetition']} "
                f"({card['repetitive_candidates']} of {card['candidates']} answers); raise it or answer more prompts")
    if card["kind"].startswith("preference") and not card.get("passing_candidates"):
        return "no answer followed every instruction, so there is nothing to prefer; sample more or use --repair"
    if card["kind"].startswith("preference"):
        return "every prompt's answers passed or failed alike, so no pair could be made; sample more answers per prompt"
    return "no answer followed every instruction: answer more prompts, sample more, or use --repair"


@dataclasses.dataclass(frozen=True)
class _Trainable:
    """Which candidates may be trained towards: complete ones (unless ``keep_cut_off``) that do not
    repeat themselves above ``max_repetition``."""

    keep_cut_off: bool
    max_repetition: float | None

    def repeats(self, candidate: Candidate) -> bool:
        return self.max_repetition is not None and repetition(candidate.text) > self.max_repetition

    def unfinished(self, candidate: Candidate) -> bool:
        """Cut off at the token limit, and not kept as it is (``keep_cut_off``)."""
        return candidate.cut_off and not self.keep_cut_off

    def flawed(self, candidate: Candidate) -> bool:
        """Passing the checks is not enough: it never ends, or it loops."""
        return self.unfinished(candidate) or self.repeats(candidate)

    def usable(self, candidates: list[Candidate]) -> list[int]:
        """Indices of the candidates that may be trained towards (an SFT row, a chosen answer, a
        repair's source), best first by ``ranked``'s rule."""
        return [i for i in ranked(candidates) if not self.flawed(candidates[i])]


def _pair(candidates: list[Candidate], best: int, trainable: _Trainable) -> tuple[Candidate, Candidate] | None:
    chosen = candidates[best]
    if chosen.origin.startswith(REPAIRED) and chosen.parent is not None:
        return chosen, _answered(candidates, chosen.parent)  # a minimal edit: the repair against its source
    refinements = any(c.parent is not None and not c.origin.startswith(ENDED) for c in candidates)
    if chosen.strict < 1.0 and not (refinements and chosen.parent is not None):
        return None  # nothing follows every constraint, and no refinement to prefer
    # Beside the answers that score lower, a cut-off (or looping) one is worse than a complete chosen
    # answer that passes: as good by the checks, but it never ends (or it loops).
    # An answer cut off right after a sentence is its own ending: never a pair with itself.
    finishes = chosen.strict == 1.0 and not trainable.flawed(chosen)
    failing = [c for c in candidates
               if (c.strict < chosen.strict or (finishes and trainable.flawed(c))) and not _same(c, chosen)]  # fmt: skip
    if not failing:
        return None
    roots = [c for c in failing if c.parent is None]
    if refinements and roots:
        return chosen, roots[0]
    greedy = next((c for c in failing if c.origin == GREEDY), None)  # what the model says when evaluated
    ended = candidates[chosen.parent] if chosen.origin.startswith(ENDED) else None  # cut off, so failing here
    if ended is not None and _same(ended, chosen):
        ended = None
    return chosen, greedy or ended or min(failing, key=lambda c: c.strict)


def _same(a: Candidate, b: Candidate) -> bool:
    return a.text.strip() == b.text.strip()


def _answered(candidates: list[Candidate], index: int) -> Candidate:
    """The answer the model gave: an ending stands for the cut-off answer it was made from."""
    source = candidates[index]
    if source.origin.startswith(ENDED) and source.parent is not None:
        return candidates[source.parent]
    return source


def write_training_data(
    run_dir: str | Path, kind: str, out: str | Path, repair: bool = False, keep_cut_off: bool = False,
    end_cut_off: bool = False, max_repetition: float | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any], Path]:
    """``make_training_data`` written to ``out`` (JSONL) with its card beside it: (rows, card, card path)."""
    from adhere.jsonl import atomic_write
    from adhere.synth.card import write_card

    rows, card = make_training_data(run_dir, kind, repair, keep_cut_off, end_cut_off, max_repetition)
    with atomic_write(out) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    card = {**card, "file": str(out)}
    return rows, card, write_card(out, card)
