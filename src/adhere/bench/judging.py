"""Pairwise judging as AlpacaEval 2 does it (``weighted_alpaca_eval_gpt4_turbo``).

For each instruction the judge sees two outputs, the reference's and the model's, in an order
drawn from the instruction alone (AlpacaEval's seeded switch), inside AlpacaEval's prompt; it
answers one token, and the preference is read from its first token's top log-probabilities:
``2 - P("m") / (P("m") + P("M"))`` in the order shown, then mirrored (``3 - p``) where the outputs
were switched, so that 1 means the reference is better and 2 the model. Identical outputs are a
draw (1.5) without a call. A judge whose top tokens hold neither "m" nor "M" gives no preference
(null, as AlpacaEval records it); a judge that returns no log-probabilities at all cannot run this
protocol, and says so.

The prompt is AlpacaEval's own file, read from the installed ``alpaca-eval`` package (its bytes
are the protocol; adhere does not carry a copy) or given with ``--judge-template``. A template is
ChatML text (``<|im_start|>role ... <|im_end|>``) with ``{instruction}``, ``{output_1}`` and
``{output_2}``, each replaced once, in the order they first appear, as AlpacaEval fills them
(see :func:`fill`).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import random
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from adhere.errors import InputError
from adhere.models.base import ModelCallError
from adhere.models.config import GenerationConfig

#: AlpacaEval's prompt for weighted_alpaca_eval_gpt4_turbo, inside the alpaca-eval package.
PACKAGE_TEMPLATE = ("evaluators_configs", "alpaca_eval_clf_gpt4_turbo", "alpaca_eval_clf.txt")
#: AlpacaEval's pairwise annotator's seed (its processors take it) and what its order switch is seeded with.
SEED = 0
SWITCH = "is_switched_outputs"


class NoLogprobsError(InputError):
    """The judge returned no log-probabilities: the weighted protocol cannot read a preference."""


def package_template() -> str:
    """AlpacaEval's judge prompt from the installed alpaca-eval package (found, not imported)."""
    spec = importlib.util.find_spec("alpaca_eval")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("the AlpacaEval judge prompt is read from the alpaca-eval package: pip install "
                         "alpaca-eval==0.6.6, or give the prompt file with --judge-template FILE")  # fmt: skip
    path = Path(next(iter(spec.submodule_search_locations)), *PACKAGE_TEMPLATE)
    if not path.is_file():
        raise InputError(f"the installed alpaca-eval has no {'/'.join(PACKAGE_TEMPLATE)}; install alpaca-eval==0.6.6 "
                         "or give the prompt file with --judge-template FILE")  # fmt: skip
    return path.read_text(encoding="utf-8")


def read_template(path: str | Path | None) -> str:
    """A judge prompt template, checked: ChatML with the three placeholders, each once."""
    if path is None:
        text, where = package_template(), "AlpacaEval's judge prompt"
    else:
        try:
            text, where = Path(path).read_text(encoding="utf-8"), str(path)
        except FileNotFoundError:
            raise InputError(f"{path}: no such file (the judge prompt template)") from None
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"{path}: not a readable text file ({error})") from None
    for name in ("instruction", "output_1", "output_2"):
        count = text.count("{" + name + "}")
        if count != 1:
            raise InputError(f"{where}: the judge prompt must hold {{{name}}} exactly once (found {count})")
    stripped = text.strip()
    if not stripped.startswith("<|im_start|>") or not stripped.endswith("<|im_end|>"):
        raise InputError(f"{where}: the judge prompt must be ChatML: <|im_start|>role, the text, <|im_end|>, per message")
    return text


def is_switched(instruction: str, seed: int = SEED) -> bool:
    """AlpacaEval's order switch: drawn from the instruction with its annotators' seed."""
    return random.Random(SWITCH + instruction + str(seed)).choices([False, True], k=1)[0]


def fill(template: str, values: Mapping[str, str]) -> str:
    """The template with each placeholder replaced once, in the order they first appear, each time
    at its first occurrence, as AlpacaEval fills its prompts. So a placeholder written inside an
    earlier value (an instruction that says "{output_2}") is the one filled, and the template's own
    stays: AlpacaEval's behaviour, kept so that the prompts are the same bytes."""
    order = list(dict.fromkeys(re.findall(r"{([^ \s]+?)}", template)))
    for name in order:
        template = template.replace("{" + name + "}", str(values[name]), 1)
    return template


def chatml_messages(prompt: str) -> list[dict[str, str]]:
    """ChatML text as chat messages: per ``<|im_start|>``, the role on its first line, the text up
    to ``<|im_end|>``, both stripped; ``system name=X`` becomes a system message with that name."""
    messages = []
    for part in prompt.strip().split("<|im_start|>")[1:]:
        head, _, rest = part.partition("\n")
        role = head.strip()
        content = rest.split("<|im_end|>", 1)[0].strip()
        message = {"content": content, "role": role}
        if role.startswith("system") and role != "system":
            extra = dict(item.split("=", 1) for item in role.split("system", 1)[1].split())
            message = {"content": content, "role": "system", **extra}
        messages.append(message)
    return messages


@dataclasses.dataclass(frozen=True)
class PairwiseJudge:
    """AlpacaEval's weighted pairwise protocol: the prompt, the call and how the answer is read."""

    template: str
    numerator: str = "m"
    tokens: tuple[str, ...] = ("m", "M")
    seed: int = SEED
    config: GenerationConfig = GenerationConfig(temperature=1.0, max_tokens=1, top_logprobs=5, seed=None)

    def request(self, instruction: str, reference: str, output: str) -> tuple[list[dict[str, str]], bool]:
        """The judge's messages for one pair and whether the two outputs were switched."""
        switched = is_switched(instruction, self.seed)
        first, second = (output, reference) if switched else (reference, output)
        prompt = fill(self.template, {"instruction": instruction, "output_1": first, "output_2": second})
        return chatml_messages(prompt), switched

    def preference(self, top_logprobs: Sequence[tuple[str, float]] | None, switched: bool) -> float | None:
        """The preference (1: the reference, 2: the model) from the judge's first-token top
        log-probabilities; None when neither answer token is among them."""
        if top_logprobs is None:
            raise NoLogprobsError("the judge returned no log-probabilities; AlpacaEval's weighted protocol reads "
                                  "the preference from them: use a server that returns top_logprobs (llama.cpp's "
                                  "server, vLLM, OpenAI) or a gguf:/local judge")  # fmt: skip
        found = {token: lp for token, lp in top_logprobs if token in self.tokens}
        if not found:
            return None
        numerator = found.get(self.numerator, -math.inf)
        denominator = _logsumexp([found.get(t, -math.inf) for t in self.tokens])
        shown = 2 - math.exp(numerator - denominator)
        return 3 - shown if switched else shown


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    if top == -math.inf:
        return -math.inf
    return top + math.log(sum(math.exp(v - top) for v in values))


def match_outputs(references: Sequence[Mapping[str, Any]], outputs: Sequence[Mapping[str, Any]],
                  where: str) -> list[Mapping[str, Any]]:  # fmt: skip
    """The model's outputs in the references' order, matched by instruction: a missing or extra
    instruction, or one given twice, is one line naming it."""
    by_instruction: dict[str, Mapping[str, Any]] = {}
    for index, row in enumerate(outputs):
        if not isinstance(row, Mapping) or not isinstance(row.get("instruction"), str) or not isinstance(row.get("output"), str):
            raise InputError(f"{where}: output {index} must have 'instruction' and 'output' text (AlpacaEval's "
                             "model_outputs.json)")  # fmt: skip
        if row["instruction"] in by_instruction:
            raise InputError(f"{where}: output {index} repeats an instruction: {row['instruction'][:60]!r}")
        by_instruction[row["instruction"]] = row
    wanted = [r["instruction"] for r in references]
    missing = [text for text in wanted if text not in by_instruction]
    if missing:
        raise InputError(f"{where}: no output for {len(missing)} of the {len(wanted)} instructions "
                         f"(first: {missing[0][:60]!r})")  # fmt: skip
    extra = set(by_instruction) - set(wanted)
    if extra:
        raise InputError(f"{where}: {len(extra)} output(s) for instructions not in the reference "
                         f"(first: {min(extra)[:60]!r})")  # fmt: skip
    return [by_instruction[text] for text in wanted]


def read_outputs(path: str | Path, what: str = "outputs") -> list[dict[str, Any]]:
    """An AlpacaEval outputs file (``model_outputs.json``: a list of {instruction, output,
    generator, ...}); JSON Lines too."""
    import json

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file ({what})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a readable text file ({error})") from None
    try:
        data = json.loads(text)
    except ValueError:
        try:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError as error:
            raise InputError(f"{path}: neither a JSON list nor JSON Lines ({error})") from None
    if not isinstance(data, list) or not data:
        raise InputError(f"{path}: expected a non-empty list of {{instruction, output}} ({what})")
    for index, row in enumerate(data):
        if not isinstance(row, dict) or not isinstance(row.get("instruction"), str) or not isinstance(row.get("output"), str):
            raise InputError(f"{path}: row {index} must have 'instruction' and 'output' text ({what})")
    return data


async def judge_pairs(judge: PairwiseJudge, backend: Any, pairs: Sequence[Mapping[str, Any]], cache: Any = None,
                      progress: Any = None) -> list[dict[str, Any]]:  # fmt: skip
    """Judge each pair (``instruction``, ``output_1`` the reference's, ``output_2`` the model's,
    with ``generator_1``/``generator_2``) and return AlpacaEval annotation rows: the pair, the
    ``preference`` (null where the judge gave none or its call failed), and what was asked and
    answered (``is_switched_outputs``, ``raw_completion``, ``top_logprobs``, ``error``, tokens,
    whether it came from the cache). Calls go through the response cache, so a rerun after a kill
    only makes the calls that had not finished. A judge without log-probabilities stops at once."""
    import asyncio

    from adhere.bench.generate import settle_all
    from adhere.models.cache import cached_complete

    limit = getattr(backend, "concurrency", None)
    gate = asyncio.Semaphore(limit) if limit else None
    name = getattr(backend, "name", str(backend))
    rows: list[dict[str, Any]] = [{} for _ in pairs]

    async def one(index: int, pair: Mapping[str, Any]) -> None:
        row = {key: pair.get(key) for key in ("instruction", "output_1", "generator_1", "dataset", "output_2",
                                               "generator_2")}  # fmt: skip
        row.update(annotator=name, preference=None, is_switched_outputs=None, raw_completion=None, top_logprobs=None,
                   error=None, prompt_tokens=None, completion_tokens=None, cached=None)  # fmt: skip
        rows[index] = row
        if pair["output_1"] == pair["output_2"]:
            row["preference"] = 1.5  # identical outputs: a draw, no call (as AlpacaEval)
            if progress:
                progress(True)
            return
        messages, switched = judge.request(pair["instruction"], pair["output_1"], pair["output_2"])
        row["is_switched_outputs"] = switched
        try:
            record, cached = await cached_complete(backend, cache, messages, judge.config, 0, gate=gate)
        except ModelCallError as error:
            row["error"] = str(error)
            if progress:
                progress(False)
            return
        row.update(raw_completion=record["text"], top_logprobs=record.get("top_logprobs"), cached=cached,
                   prompt_tokens=record.get("prompt_tokens"), completion_tokens=record.get("completion_tokens"))  # fmt: skip
        row["preference"] = judge.preference(record.get("top_logprobs"), switched)
        if row["preference"] is None:
            row["error"] = (f"neither of {', '.join(map(repr, judge.tokens))} is among the judge's top tokens "
                            f"({', '.join(repr(t) for t, _ in record['top_logprobs'])})")  # fmt: skip
        if progress:
            progress(cached)

    tasks = [asyncio.ensure_future(one(i, pair)) for i, pair in enumerate(pairs)]
    await settle_all(tasks)  # the first error (a judge without log-probabilities) cancels the rest
    return rows


def generate_outputs(model: str, backend_options: Mapping[str, Any], generation: GenerationConfig,
                     instructions: Sequence[str], out: str | Path, cache: Any = None, progress: Any = None,
                     failures: Any = None, on_start: Any = None, benchmark: str = "alpaca-eval",
                     keys: Sequence[Any] | None = None) -> list[str | None]:  # fmt: skip
    """The model's output to each instruction, made in the run directory ``out`` (resumable: a
    rerun answers only what it lacks) through the cache; None where a call failed within the
    failure budget. Beyond it, ``ModelCallsFailedError`` (the answers made are kept)."""
    import asyncio

    from adhere.bench.failures import Breaker, FailurePolicy, check_calls
    from adhere.bench.generate import _generate_and_close, start_run

    if generation.samples != 1:
        raise InputError(f"{benchmark} judges one output per prompt: drop --samples")
    failures = failures or FailurePolicy()
    keys = list(range(len(instructions))) if keys is None else list(keys)
    prompts = [{"key": key, "prompt": text} for key, text in zip(keys, instructions)]
    backend, run = start_run(out, model, dict(backend_options), generation, None,
                             {"benchmark": benchmark, "prompts": len(prompts)})  # fmt: skip
    try:
        done = run.finished()
        todo = [(row, 0) for row in prompts if done.get((row["key"], 0), {}).get("response") is None]
        if on_start:
            on_start(len(prompts), len(todo))
        breaker = Breaker(failures)
        try:
            asyncio.run(_generate_and_close(backend, todo, generation, cache, run, progress, None, None, breaker))
        finally:
            run.close()
        rows = {(r["key"], r["sample"]): r for r in run.compact([(row["key"], 0) for row in prompts])}
        check_calls(rows, len(prompts), failures, run.path, breaker)
    finally:
        run.release()
    return [rows.get((row["key"], 0), {}).get("response") for row in prompts]


def hub_reference() -> list[dict[str, Any]]:
    """AlpacaEval 2's instructions with the reference outputs (gpt4_1106_preview), from the Hub."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise InputError("loading AlpacaEval from the Hub needs huggingface_hub (pip install huggingface_hub), "
                         "or give --reference FILE") from None  # fmt: skip
    try:
        path = hf_hub_download("tatsu-lab/alpaca_eval", "alpaca_eval_gpt4_baseline.json", repo_type="dataset")
    except Exception as error:  # noqa: BLE001 - offline, gated, moved: all one message
        reason = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
        raise InputError(f"could not download AlpacaEval's reference outputs from the Hub (tatsu-lab/alpaca_eval: "
                         f"{reason}); give --reference FILE (AlpacaEval's model_outputs.json format)") from None  # fmt: skip
    return read_outputs(path, "reference outputs")
