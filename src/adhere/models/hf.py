"""Models run by Hugging Face transformers (extra ``hf``), with batched generation.

``hf:PATH_OR_ID`` is a local model folder, a local GGUF file (loaded with ``gguf_file=``, as
dense weights), or a Hub id (needs the Hub). The model's own chat template formats the
messages. Calls that arrive together (``adhere eval`` keeps up to ``batch_size`` in flight) are
generated as one left-padded batch; greedy decoding is deterministic, sampling is seeded per
batch (the seed of its first sample), so sampled outputs depend on how calls were batched.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from pathlib import Path
from typing import Any

from adhere.errors import InputError, MissingExtraError, first_line
from adhere.models.base import Completion, Messages, ModelCallError, ModelUnavailableError, backend, settle
from adhere.models.config import GenerationConfig
from adhere.models.llamacpp import file_sha256
from adhere.settings import setting

INSTALL_HINT = "pip install 'adhere[hf]' (and torch for your hardware)"


def folder_sha256(folder: Path) -> str:
    """One hash over a model folder's weight, config and tokenizer files."""
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in (".safetensors", ".bin", ".json", ".model", ".gguf", ".txt"):
            digest.update(path.name.encode() + b"\0" + file_sha256(path).encode())
    return digest.hexdigest()


class TransformersBackend:
    """A transformers causal LM; concurrent calls with the same settings share a batch."""

    def __init__(self, ref: str, *, batch_size: int = 16):
        try:
            import torch  # noqa: F401
            import transformers
        except ImportError:
            raise MissingExtraError(f"hf: models need torch and transformers: {INSTALL_HINT}") from None
        if batch_size < 1:
            raise InputError(f"hf backend: batch_size must be at least 1, got {batch_size}")
        self.name = f"hf:{ref}"
        self.concurrency = batch_size
        self.batch_size = batch_size
        path = Path(ref).expanduser()
        kwargs: dict[str, Any] = {}
        if path.is_file():
            if path.suffix != ".gguf":
                raise ModelUnavailableError(f"{path} is a file but not a .gguf; give a model folder or a GGUF file")
            source, kwargs["gguf_file"] = str(path.parent.resolve()), path.name
            self._identity = {"backend": "hf", "path": str(path.resolve()), "sha256": file_sha256(path)}
        elif path.is_dir():
            source = str(path.resolve())
            self._identity = {"backend": "hf", "path": source, "sha256": folder_sha256(path)}
        else:
            source = ref
            self._identity = {"backend": "hf", "model": ref}
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(source, **kwargs)
            self.model = transformers.AutoModelForCausalLM.from_pretrained(source, **kwargs).eval()
        except (OSError, ValueError) as error:
            raise ModelUnavailableError(
                f"transformers could not load {ref}: {first_line(error)[:200]}"
            ) from None
        if "model" in self._identity:
            self._identity["revision"] = getattr(self.model.config, "_commit_hash", None)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.chat_template = self.tokenizer.chat_template
        self.max_context = getattr(self.model.config, "max_position_embeddings", None)
        self._pending: list[tuple[Messages, GenerationConfig, int, asyncio.Future]] = []
        self._worker: asyncio.Task | None = None

    def identity(self) -> dict[str, Any]:
        return dict(self._identity)

    def runtime(self) -> dict[str, Any]:
        import torch
        import transformers

        device = self.model.device
        where = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
        return {
            "library": f"transformers {transformers.__version__}, torch {torch.__version__}",
            "device": where, "dtype": str(self.model.dtype).removeprefix("torch."),
        }  # fmt: skip

    async def complete(self, messages: Messages, config: GenerationConfig, sample: int) -> Completion:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((messages, config, sample, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # let the other calls of this round enqueue first
        while self._pending:
            config = self._pending[0][1]
            batch = [p for p in self._pending if p[1] == config][: self.batch_size]
            for entry in batch:
                self._pending.remove(entry)
            try:
                results = await asyncio.to_thread(self._generate, [(m, s) for m, _, s, _ in batch], config)
            except Exception as error:  # a failed batch fails its calls, not the run
                results = [ModelCallError(f"generation failed: {error}")] * len(batch)
            for (_, _, _, future), result in zip(batch, results):
                settle(future, result)
            await asyncio.sleep(0)

    def _generate(self, requests: list[tuple[Messages, int]], config: GenerationConfig) -> list[Any]:
        import torch

        texts = [
            self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            for messages, _ in requests
        ]
        results: list[Any] = [None] * len(texts)
        fitting = []
        for index, text in enumerate(texts):
            length = len(self.tokenizer(text, add_special_tokens=False)["input_ids"])
            if self.max_context and length + config.max_tokens > self.max_context:
                results[index] = ModelCallError(
                    f"prompt of {length} tokens plus {config.max_tokens} new tokens exceeds the "
                    f"context window of {self.max_context}"
                )
            else:
                fitting.append(index)
        if not fitting:
            return results
        encoded = self.tokenizer([texts[i] for i in fitting], return_tensors="pt", padding=True, add_special_tokens=False)
        options: dict[str, Any] = {"max_new_tokens": config.max_tokens, "pad_token_id": self.tokenizer.pad_token_id}
        if config.temperature > 0:
            options.update(do_sample=True, temperature=config.temperature, top_p=config.top_p)
            seed = config.sample_seed(requests[fitting[0]][1])
            if seed is not None:
                torch.manual_seed(seed)
        else:
            options["do_sample"] = False
        if config.stop:
            options.update(stop_strings=list(config.stop), tokenizer=self.tokenizer)
        if config.top_logprobs:
            options.update(output_logits=True, return_dict_in_generate=True)
        start = time.perf_counter()
        with torch.no_grad():
            output = self.model.generate(**encoded, **options)
        latency = time.perf_counter() - start
        tops: list[Any] = [None] * len(fitting)
        if config.top_logprobs:
            # The first new token's distribution: the model's own logits, before temperature or top-p.
            first = torch.log_softmax(output.logits[0].float(), dim=-1)
            values, ids = first.topk(config.top_logprobs, dim=-1)
            tops = [tuple((self.tokenizer.decode([int(t)]), float(v)) for v, t in zip(values[row], ids[row]))
                    for row in range(len(fitting))]  # fmt: skip
            output = output.sequences
        width = encoded["input_ids"].shape[1]
        eos = {self.tokenizer.eos_token_id, self.tokenizer.pad_token_id}
        for row, index in enumerate(fitting):
            generated = output[row, width:].tolist()
            ended = next((i for i, token in enumerate(generated) if token in eos), None)
            kept = generated if ended is None else generated[:ended]
            text = self.tokenizer.decode(kept, skip_special_tokens=True)
            finish = "stop" if ended is not None else "length"
            for stop in config.stop:
                if stop in text:
                    text, finish = text[: text.index(stop)], "stop"
            results[index] = Completion(
                text=text,
                finish_reason=finish,
                prompt_tokens=int(encoded["attention_mask"][row].sum()),
                completion_tokens=len(kept),
                latency_s=latency,
                top_logprobs=tops[row],
            )
        return results

    async def aclose(self) -> None:
        self._pending.clear()


@dataclasses.dataclass(frozen=True, kw_only=True)
class TransformersOptions:
    """Options of the transformers backend (``hf:PATH_OR_ID``): ``-M key=value``."""

    batch_size: int = setting(16, "prompts generated together in one batch")

    def check(self) -> None:
        if self.batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {self.batch_size}")


@backend("hf", TransformersOptions)
def _hf(ref: str, **options: Any) -> TransformersBackend:
    return TransformersBackend(ref, **options)
