"""Other harnesses' files: generations logged by lm-evaluation-harness, inspect and lighteval, read as rows
adhere scores; and a results file in lm-evaluation-harness's shape.

- lm-evaluation-harness ``--log_samples`` writes ``samples_<task>_<date>.jsonl`` (gzipped too):
  one JSON object per document with the task's ``doc`` (for IFEval and IFBench: ``key``,
  ``prompt``, ``instruction_id_list``, ``kwargs``) and the model's ``filtered_resps`` (its
  ``resps`` after the task's filters; the IFEval task scores the first).
- inspect writes an eval log: ``.json`` (an object whose ``samples`` are the samples) or ``.eval``
  (a zip with one ``samples/<id>_epoch_<n>.json`` per sample). inspect_evals' IFEval keeps each
  prompt's ``instruction_id_list`` and ``kwargs`` (a list, or a mapping from each instruction's
  index, as inspect_evals writes it) in the sample's ``metadata``; the answer is the sample's
  ``output``.

- lighteval saves details as ``details_<task>_<date>.parquet``: one row per document, in today's
  layout a ``doc`` (the ``query``; IFEval's ``specific`` holds ``instructions_id_list`` and
  ``kwargs``) and a ``model_response`` (``text``, and ``text_post_processed`` where the task
  post-processes it; its metric scores that one), in older releases ``example``, ``specifics`` and
  ``predictions``. Reading parquet needs pyarrow (lighteval's own dependency).

Each is read into self-contained rows (``key``, ``prompt``, ``instruction_id_list``, ``kwargs``,
``response``) with where each came from (``file:line``, or ``file sample ID``), and scored as
adhere scores its own. A file that is not what its format says is one line naming what was
expected.
"""

from __future__ import annotations

import gzip
import json
import math
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from adhere.errors import InputError

FORMATS = ("auto", "adhere", "lm-eval", "inspect", "lighteval")
Rows = Iterator[tuple[str, dict[str, Any]]]


def detect_format(path: str | Path) -> str:
    """``lm-eval``, ``inspect``, ``lighteval`` (a parquet file) or ``adhere`` (its own formats and
    IFEval's), from the file itself."""
    path = Path(path)
    if path.is_dir():
        return "adhere"
    if path.suffix == ".eval" and zipfile.is_zipfile(path):
        return "inspect"
    if path.suffix == ".parquet":
        return "lighteval"
    try:
        with _open_text(path) as handle:
            head = handle.read(1 << 16)
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile):
        return "adhere"  # reading it for real reports the problem properly
    first = head.lstrip()
    if path.suffix == ".json" and first.startswith("{") and '"samples"' in head and '"eval"' in head:
        return "inspect"
    line = first.split("\n", 1)[0]
    try:
        row = json.loads(line)
    except ValueError:
        return "adhere"
    if isinstance(row, dict) and "doc" in row and ("filtered_resps" in row or "resps" in row):
        return "lm-eval"
    return "adhere"


def read_rows(path: str | Path, fmt: str) -> Rows:
    """The self-contained rows of an lm-eval samples file or an inspect eval log."""
    if fmt == "lm-eval":
        return _lm_eval(Path(path))
    if fmt == "inspect":
        return _inspect(Path(path))
    if fmt == "lighteval":
        return _lighteval(Path(path))
    raise ValueError(fmt)


def _open_text(path: Path) -> Any:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def _checked(row: dict[str, Any], where: str, what: str) -> dict[str, Any]:
    if not isinstance(row.get("instruction_id_list"), list):
        raise InputError(f"{where}: not an IFEval or IFBench {what}: it has no instruction_id_list (scored here are "
                         "IFEval's and IFBench's verifiable instructions)")  # fmt: skip
    return row


def _lm_eval(path: Path) -> Rows:
    try:
        with _open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                try:
                    sample = json.loads(line)
                except ValueError:
                    raise InputError(f"{where}: malformed JSON") from None
                if not isinstance(sample, dict) or not isinstance(sample.get("doc"), dict):
                    raise InputError(f"{where}: not an lm-evaluation-harness samples row (expected an object with "
                                     "'doc' and 'filtered_resps', as --log_samples writes)")  # fmt: skip
                doc = _checked(sample["doc"], where, "document")
                yield where, {"key": doc.get("key", sample.get("doc_id")), "prompt": doc.get("prompt"),
                              "instruction_id_list": doc["instruction_id_list"], "kwargs": doc.get("kwargs"),
                              "response": _lm_eval_response(sample)}  # fmt: skip
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile, OSError) as error:
        raise InputError(f"{path}: cannot be read as an lm-evaluation-harness samples file ({error})") from None


def _lm_eval_response(sample: dict[str, Any]) -> Any:
    """The response the task scores: the first filtered response (else the first raw one)."""
    for field in ("filtered_resps", "resps"):
        value = sample.get(field)
        while isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, str):
            return value
    return None


def _inspect(path: Path) -> Rows:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.startswith("samples/") and n.endswith(".json")]
            if not names:
                raise InputError(f"{path}: an inspect .eval log without samples (was the log written with samples?)")
            samples = []
            for name in names:
                try:
                    samples.append(json.loads(archive.read(name).decode("utf-8")))
                except (ValueError, UnicodeDecodeError):
                    raise InputError(f"{path} {name}: malformed JSON") from None
    else:
        try:
            log = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise InputError(f"{path}: not an inspect eval log (not valid JSON)") from None
        if not isinstance(log, dict) or not isinstance(log.get("samples"), list):
            raise InputError(f"{path}: not an inspect eval log with samples (expected an object with 'samples')")
        samples = log["samples"]
    epochs = {s.get("epoch", 1) for s in samples if isinstance(s, dict)}
    for sample in samples:
        if not isinstance(sample, dict):
            raise InputError(f"{path}: an inspect sample is not an object")
        ident, epoch = sample.get("id"), sample.get("epoch", 1)
        where = f"{path} sample {ident}" + (f" epoch {epoch}" if len(epochs) > 1 else "")
        metadata = sample.get("metadata") if isinstance(sample.get("metadata"), dict) else {}
        row = _checked(metadata, where, "sample")
        key = ident if len(epochs) == 1 else f"{ident}/{epoch}"
        yield where, {"key": key, "prompt": _prompt(sample),
                      "instruction_id_list": row["instruction_id_list"], "kwargs": _kwargs_list(row),
                      "response": _completion(sample.get("output"))}  # fmt: skip


def _lighteval(path: Path) -> Rows:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{path}: reading lighteval's parquet details needs pyarrow: pip install pyarrow") from None
    try:
        rows = pq.read_table(path).to_pylist()
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError(f"{path}: not a readable parquet file ({error})") from None
    for index, row in enumerate(rows):
        where = f"{path} row {index}"
        if isinstance(row.get("doc"), dict):  # today's layout
            doc, answer = row["doc"], row.get("model_response") or {}
            prompt, specific = doc.get("query"), doc.get("specific")
            processed = _first_text(answer.get("text_post_processed"))
            response = processed if processed is not None else _first_text(answer.get("text"))
            key = doc.get("id", index)
        elif "specifics" in row:  # older releases
            prompt, specific, key = row.get("example"), row.get("specifics"), index
            response = _first_text(row.get("predictions"))
        else:
            raise InputError(f"{where}: not a lighteval details row (expected 'doc' and 'model_response', or "
                             "'example', 'specifics' and 'predictions')")  # fmt: skip
        specific = specific if isinstance(specific, dict) else {}
        ids = specific.get("instructions_id_list", specific.get("instruction_id_list"))
        row = _checked({"instruction_id_list": ids}, where, "details row")
        yield where, {"key": key if key is not None else index, "prompt": prompt,
                      "instruction_id_list": row["instruction_id_list"], "kwargs": specific.get("kwargs"),
                      "response": response}  # fmt: skip


def _first_text(value: Any) -> str | None:
    """The first text of a (nested) list of generations, or None."""
    while isinstance(value, list) and value:
        value = value[0]
    return value if isinstance(value, str) else None


def _kwargs_list(metadata: dict[str, Any]) -> Any:
    """The kwargs as a list, one per instruction: inspect_evals keeps them as a mapping from each
    instruction's index (``{"0": {...}, "1": {...}}`` in the log) with the empty ones dropped."""
    kwargs = metadata.get("kwargs")
    if isinstance(kwargs, dict):
        count = len(metadata["instruction_id_list"])
        return [kwargs.get(str(i), kwargs.get(i)) or {} for i in range(count)]
    return kwargs


def _text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: their text ones, joined
        texts = [part.get("text") for part in content if isinstance(part, dict) and part.get("type", "text") == "text"]
        return "".join(t for t in texts if isinstance(t, str))
    return None


def _prompt(sample: dict[str, Any]) -> str:
    given = sample.get("input")
    if isinstance(given, list):  # chat messages: the last user message
        users = [m for m in given if isinstance(m, dict) and m.get("role") == "user"]
        given = _text(users[-1].get("content")) if users else None
    return given if isinstance(given, str) else ""


def _completion(output: Any) -> str | None:
    if not isinstance(output, dict):
        return None
    if isinstance(output.get("completion"), str):
        return output["completion"]
    choices = output.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if isinstance(message, dict):
            return _text(message.get("content"))
    return None


def lm_eval_results(summary: Any, task: str, source: str) -> dict[str, Any]:
    """A results file shaped as lm-evaluation-harness writes one (``results_<date>.json``): the
    task's four accuracies as ``<metric>,none`` with their standard errors (prompt level: the
    standard error of a mean of 0/1 outcomes, as lm-eval computes it; instruction level: "N/A",
    as lm-eval reports it), and the Open LLM Leaderboard's IFEval figure, the mean of prompt-level
    and instruction-level strict accuracy."""
    accuracy = summary.accuracies()
    prompts = summary.prompts
    metrics = {"prompt_level_strict_acc": accuracy["prompt_level_strict"],
               "inst_level_strict_acc": accuracy["instruction_level_strict"],
               "prompt_level_loose_acc": accuracy["prompt_level_loose"],
               "inst_level_loose_acc": accuracy["instruction_level_loose"]}  # fmt: skip
    results: dict[str, Any] = {"alias": task}
    for name, value in metrics.items():
        results[f"{name},none"] = value
        if name.startswith("prompt") and value is not None and prompts > 1:
            results[f"{name}_stderr,none"] = math.sqrt(value * (1 - value) / (prompts - 1))
        else:
            results[f"{name}_stderr,none"] = "N/A"
    strict = (metrics["prompt_level_strict_acc"], metrics["inst_level_strict_acc"])
    from adhere import __version__

    return {
        "results": {task: results},
        "leaderboard": {
            "ifeval": None if None in strict else (strict[0] + strict[1]) / 2,
            "definition": "mean of prompt_level_strict_acc and inst_level_strict_acc (Open LLM Leaderboard v2's IFEval)",
        },
        "higher_is_better": {task: {name: True for name in metrics}},
        "n-samples": {task: {"original": prompts, "effective": prompts}},
        "config": {"scored_by": f"adhere {__version__}", "source": source},
    }
