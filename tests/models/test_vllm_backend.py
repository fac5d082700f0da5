"""The vLLM backend: on a CUDA host with the vllm extra, real generation; elsewhere, clear errors.

The GPU tests write the bundled model (its GGUF loaded by transformers as dense weights) as an
ordinary model folder and serve it with vLLM; they are skipped, never faked, without a GPU.
"""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from adhere.errors import MissingExtraError
from adhere.models import GenerationConfig
from adhere.models.base import ModelCallError, load_backend

HAS_VLLM = importlib.util.find_spec("vllm") is not None


def _has_cuda() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


@pytest.mark.skipif(HAS_VLLM, reason="vllm is installed here")
def test_without_the_extra_the_spec_says_how_to_install_it():
    with pytest.raises(MissingExtraError, match=r"pip install 'adhere\[vllm\]'"):
        load_backend("vllm:some/model")


gpu = pytest.mark.skipif(not (HAS_VLLM and _has_cuda()), reason="needs vllm and a CUDA GPU")


@pytest.fixture(scope="module")
def vllm_backend(dense_model_folder):
    backend = load_backend(f"vllm:{dense_model_folder}", max_model_len=512, gpu_memory_utilization=0.3)
    yield backend
    asyncio.run(backend.aclose())


def _generate(backend, prompts, config):
    async def go():
        calls = [backend.complete([{"role": "user", "content": p}], config, 0) for p in prompts]
        return await asyncio.gather(*calls, return_exceptions=True)

    return asyncio.run(go())


@gpu
def test_vllm_generates_greedy_deterministic_batches(vllm_backend, dense_model_folder):
    config = GenerationConfig(max_tokens=32)
    prompts = ["Name three colors.", "Write a haiku about the sea.", "What is 2 + 2?"]
    first = _generate(vllm_backend, prompts, config)
    second = _generate(vllm_backend, prompts, config)
    assert [c.text for c in first] == [c.text for c in second]
    for completion in first:
        assert completion.text.strip()
        assert 1 <= completion.completion_tokens <= 32
        assert completion.prompt_tokens > 5
        assert completion.finish_reason in ("stop", "length")
    identity = vllm_backend.identity()
    assert identity["backend"] == "vllm" and identity["path"] == str(dense_model_folder.resolve())
    assert len(identity["sha256"]) == 64


@gpu
def test_vllm_long_prompt_is_an_error_row_and_the_rest_go_on(vllm_backend):
    results = _generate(vllm_backend, ["Say hi.", "word " * 2000], GenerationConfig(max_tokens=8))
    assert results[0].text
    assert isinstance(results[1], ModelCallError) and "context window" in str(results[1])


@gpu
def test_vllm_sampling_is_seeded_per_sample(vllm_backend):
    config = GenerationConfig(temperature=1.0, max_tokens=24, seed=3)

    async def go():
        messages = [{"role": "user", "content": "Tell me a story."}]
        return await asyncio.gather(*(vllm_backend.complete(messages, config, s) for s in (0, 0, 1)))

    a, again, b = asyncio.run(go())
    assert a.text == again.text and a.text != b.text


class _RecordingLLM:
    """Stands in for vllm.LLM on a machine without a GPU: records what the backend sends it."""

    def __init__(self):
        self.prompts = []

    def generate(self, prompts, params, use_tqdm=False):
        from types import SimpleNamespace

        self.prompts.extend(prompts)
        return [SimpleNamespace(prompt_token_ids=p["prompt_token_ids"],
                                outputs=[SimpleNamespace(text="ok", finish_reason="stop", token_ids=[1, 2])])
                for p in prompts]  # fmt: skip


def test_prompts_reach_the_engine_as_the_templates_token_ids():
    """transformers 5 returns a BatchEncoding from apply_chat_template(tokenize=True); the engine
    must get its input_ids (a list of ints), not the mapping's keys (found on an H100)."""
    pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    import threading

    import transformers

    from adhere.models.llamacpp import bundled_model_path
    from adhere.models.vllm import VLLMBackend

    path = bundled_model_path()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    backend = VLLMBackend.__new__(VLLMBackend)
    backend.tokenizer, backend.max_model_len, backend._lock = tokenizer, 2048, threading.Lock()
    backend._sampling_params, backend._llm = dict, _RecordingLLM()
    messages = [{"role": "user", "content": "Name three colors."}]
    [completion] = backend._generate([(messages, GenerationConfig(max_tokens=8), 0)])
    sent = backend._llm.prompts[0]["prompt_token_ids"]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert sent == tokenizer(text, add_special_tokens=False)["input_ids"]
    assert all(isinstance(token, int) for token in sent)
    assert completion.text == "ok" and completion.prompt_tokens == len(sent)


@pytest.mark.parametrize(("option", "value"), [("-M", "gpu_memory_utilization=1.5"), ("-M", "max_model_len=0")])
def test_bad_vllm_settings_are_one_line_before_anything_loads(tmp_path, option, value):
    import subprocess
    import sys

    from tests.conftest import IFEVAL

    result = subprocess.run(
        [sys.executable, "-m", "adhere.cli", "eval", "ifeval", "--model", "vllm:some/model", option, value,
         "--data", str(IFEVAL / "input_data.jsonl"), "--limit", "1", "--out-dir", str(tmp_path / "run")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode != 0
    name = value.split("=")[0]
    assert result.stderr.count("\n") == 1 and f"model options (vllm): {name} must be" in result.stderr, result.stderr


def test_the_first_tokens_top_logprobs_are_read_from_vllms_output():
    from types import SimpleNamespace as NS

    from adhere.models.vllm import _first_top

    entry = lambda token, lp: NS(decoded_token=token, logprob=lp)  # noqa: E731
    # vLLM's dict holds the top k and the sampled token (here a less likely one): k are kept, best first.
    choice = NS(logprobs=[{5: entry("M", -0.2), 7: entry("m", -1.9), 9: entry("x", -6.0), 2: entry("The", -3.0)}])
    assert _first_top(choice, 3) == (("M", -0.2), ("m", -1.9), ("The", -3.0))
    assert _first_top(choice, None) is None and _first_top(NS(logprobs=None), 5) is None
