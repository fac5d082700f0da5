"""Parallel decoding for llama.cpp: several sequences share every forward pass.

One thread owns a llama.cpp context with ``n_parallel`` sequence slots (each with its own KV
stream and its own ``n_ctx`` tokens). Each step builds one batch holding the next token of every
sequence that is generating plus as many pending prompt tokens as fit, decodes it once, and
samples every sequence whose logits it produced. A finished sequence frees its slot for the next
waiting request at once (continuous batching), so short answers never wait for long ones.

With one slot this is the plain single-stream loop. More slots pay where a forward pass is bound
by reading the weights (GPUs, many-core CPUs, F16 weights), since all sequences share that read;
on 2 CPU cores with Q4_1 weights a step is compute-bound and costs about as much per sequence as
decoding them one by one (README, "Speed").
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from adhere.models.base import Completion, ModelCallError, ModelUnavailableError

#: Prompt tokens decoded per step at most (llama.cpp's default batch size).
N_BATCH = 512


@dataclasses.dataclass
class Request:
    """One generation: prompt tokens in, a Completion (or a ModelCallError) out through ``done``."""

    tokens: list[int]
    max_tokens: int
    stop: tuple[str, ...]
    temperature: float
    top_p: float
    seed: int | None
    done: Callable[[Completion | ModelCallError], None]
    cancelled: Callable[[], bool] = lambda: False
    start: float = dataclasses.field(default_factory=time.perf_counter)
    top_logprobs: int = 0
    """Also return the first token's N most likely tokens with their log-probabilities (0: none)."""


@dataclasses.dataclass
class _Sequence:
    slot: int
    request: Request
    sampler: Any
    pending: list[int]
    """Prompt tokens not decoded yet."""
    n_past: int = 0
    """Tokens in this slot's KV cache."""
    generated: list[int] = dataclasses.field(default_factory=list)
    text: bytearray = dataclasses.field(default_factory=bytearray)
    logits_at: int = -1
    """Where this sequence's logits are in the batch just decoded (-1: none)."""
    top: tuple[tuple[str, float], ...] | None = None
    """The first token's most likely tokens and their log-probabilities, when asked for."""


def amx_build() -> bool:
    """Whether this llama.cpp build runs matrix products on Intel AMX (built with -march=native on
    a CPU that has it); ``make install`` builds without AMX (README, Set-up)."""
    import llama_cpp

    return "AMX_INT8 = 1" in llama_cpp.llama_print_system_info().decode("utf-8", errors="replace")


def model_params(defaults: Callable[[], Any] | None = None) -> Any:
    """llama.cpp's default model parameters (from ``defaults``, else llama-cpp-python's
    ``llama_model_default_params``); on an AMX build, with the weights kept out of its extra
    buffer types (AMX and the CPU repacking), in plain CPU buffers: its AMX matrix kernels crash on
    the first forward pass (ggml-org/llama.cpp#20824, seen here on Sapphire Rapids with Q4_1)."""
    import llama_cpp.llama_cpp as low

    params = (defaults or low.llama_model_default_params)()
    if amx_build():
        params.use_extra_bufts = False
    return params


@contextlib.contextmanager
def plain_buffers_on_amx() -> Iterator[None]:
    """While a ``llama_cpp.Llama`` loads its model: on an AMX build, its weights go to plain CPU
    buffers as the engine's do. ``Llama`` takes no such option; it reads its model parameters from
    ``llama_model_default_params``, so that answers with ``model_params`` meanwhile."""
    if not amx_build():
        yield
        return
    import llama_cpp.llama_cpp as low

    default = low.llama_model_default_params
    low.llama_model_default_params = lambda: model_params(default)
    try:
        yield
    finally:
        low.llama_model_default_params = default


class LlamaEngine:
    """A llama.cpp model with ``n_parallel`` decoding slots, served by one thread."""

    def __init__(self, path: Path, *, n_ctx: int, n_parallel: int, n_threads: int, lora: Path | None = None):
        import llama_cpp
        from llama_cpp import _internals

        # llama.cpp logs through this logger (as llama_cpp.Llama(verbose=False) sets it): errors only.
        logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
        self._llama_cpp = llama_cpp
        self._internals = _internals
        self.n_ctx = n_ctx
        self.n_parallel = n_parallel
        try:
            self.model = _internals.LlamaModel(path_model=str(path), params=model_params(), verbose=False)
        except ValueError as error:
            raise ModelUnavailableError(f"llama.cpp could not load {path}: {error}") from None
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx * n_parallel
        params.n_seq_max = n_parallel
        # Each sequence attends only to its own KV stream: the prompts share no prefix, and a
        # unified cache would make every sequence attend over (and mask) all the others.
        params.kv_unified = False
        params.n_batch = N_BATCH
        params.n_ubatch = N_BATCH
        params.n_threads = n_threads
        params.n_threads_batch = n_threads
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        params.no_perf = True
        try:
            self.context = _internals.LlamaContext(model=self.model, params=params, verbose=False)
        except ValueError as error:
            self.model.close()
            raise ModelUnavailableError(f"llama.cpp could not make a context for {path}: {error}") from None
        self._adapter = None
        if lora is not None:
            self._apply_lora(path, lora)
        self.batch = _internals.LlamaBatch(n_tokens=N_BATCH, embd=0, n_seq_max=1, verbose=False)
        self.vocab = self.model.vocab
        self._pieces: dict[int, bytes] = {}
        self._requests: queue.SimpleQueue[list[Request] | None] = queue.SimpleQueue()
        self._waiting: collections.deque[Request] = collections.deque()
        self._free = list(range(n_parallel - 1, -1, -1))
        self._active: list[_Sequence] = []
        self._closed = False
        self._state = threading.Lock()
        self._ended: str | None = None
        """Why the serving thread stopped, once it has."""
        self._thread = threading.Thread(target=self._serve, name="adhere-llama", daemon=True)
        self._thread.start()

    # -- requests ------------------------------------------------------------------------------

    def tokenize(self, text: str, *, add_bos: bool) -> list[int]:
        return self.model.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    def submit(self, requests: list[Request]) -> None:
        """Queue requests; the engine admits them in this order as slots free up.

        Requests handed over in one call join the queue together, so the batches a run decodes
        depend only on the order of its requests and the lengths of their answers, never on
        thread timing (llama.cpp's results depend slightly on what shares a batch).
        """
        accepted = []
        for request in requests:
            if len(request.tokens) >= self.n_ctx:
                request.done(
                    ModelCallError(
                        f"the prompt is {len(request.tokens)} tokens, more than the context window of "
                        f"{self.n_ctx} leaves room for (raise -M n_ctx=N)"
                    )
                )
            else:
                accepted.append(request)
        with self._state:
            if self._ended is None:
                if accepted:
                    self._requests.put(accepted)
                return
        for request in accepted:
            request.done(ModelCallError(self._ended))

    def close(self) -> None:
        """Stop serving (requests not finished get an error), wait for the thread, free memory."""
        if not self._closed:
            self._closed = True
            self._requests.put(None)
            self._thread.join()
            self.batch.close()
            self.context.close()
            if self._adapter is not None:
                self._llama_cpp.llama_adapter_lora_free(self._adapter)
            self.model.close()

    def _apply_lora(self, path: Path, lora: Path) -> None:
        """Apply a llama.cpp LoRA adapter GGUF (scale 1) to every sequence of this context."""
        llama_cpp = self._llama_cpp
        self._adapter = llama_cpp.llama_adapter_lora_init(self.model.model, str(lora).encode("utf-8"))
        failed = not self._adapter
        if not failed:
            adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(self._adapter)
            failed = bool(llama_cpp.llama_set_adapters_lora(self.context.ctx, adapters, 1, (ctypes.c_float * 1)(1.0)))
        if failed:
            self.context.close()
            if self._adapter:
                llama_cpp.llama_adapter_lora_free(self._adapter)
            self.model.close()
            raise ModelUnavailableError(
                f"llama.cpp could not apply the LoRA adapter {lora} to {path}; is it a LoRA GGUF "
                "(adhere export --type lora) of this base model?"
            )

    # -- the serving loop ----------------------------------------------------------------------

    def _serve(self) -> None:
        reason = "the model was closed"
        try:
            while self._take_requests():
                self._step()
        except Exception as error:  # a llama.cpp failure ends every request, never silently
            reason = f"llama.cpp failed: {error}"
        # From here on, submit() answers at once: nothing can wait on a thread that has ended.
        with self._state:
            self._ended = reason
        self._fail_all(ModelCallError(reason))

    def _take_requests(self) -> bool:
        """Move new requests into free slots; block while there is nothing to do. False: stop."""
        while True:
            block = not self._active and not self._waiting
            try:
                requests = self._requests.get(block=block)
            except queue.Empty:
                break
            if requests is None:
                return False
            self._waiting.extend(requests)
        while self._free and self._waiting:
            request = self._waiting.popleft()
            if request.cancelled():
                continue
            slot = self._free.pop()
            sampler = self._sampler(request)
            self._active.append(_Sequence(slot, request, sampler, pending=list(request.tokens)))
        return True

    def _sampler(self, request: Request) -> Any:
        sampler = self._internals.LlamaSampler()
        if request.temperature == 0.0:
            sampler.add_greedy()
        else:
            if request.top_p < 1.0:
                sampler.add_top_p(request.top_p, 1)
            sampler.add_temp(request.temperature)
            seed = self._llama_cpp.LLAMA_DEFAULT_SEED if request.seed is None else request.seed & 0xFFFFFFFF
            sampler.add_dist(seed)
        return sampler

    def _step(self) -> None:
        llama_cpp = self._llama_cpp
        for seq in [s for s in self._active if s.request.cancelled()]:
            self._release(seq)
        if not self._active:
            return
        batch = self.batch.batch
        n = 0
        # Generating sequences first (one token each), then prompt tokens in what room is left.
        for seq in self._active:
            seq.logits_at = -1
            if not seq.pending:
                n = self._add(batch, n, seq, seq.generated[-1], logits=True)
        for seq in self._active:
            if seq.pending and n < N_BATCH:
                chunk = seq.pending[: N_BATCH - n]
                del seq.pending[: len(chunk)]
                for i, token in enumerate(chunk):
                    n = self._add(batch, n, seq, token, logits=not seq.pending and i == len(chunk) - 1)
        batch.n_tokens = n
        status = llama_cpp.llama_decode(self.context.ctx, batch)
        if status != 0:
            raise RuntimeError(f"llama_decode returned {status}")
        for seq in list(self._active):
            if seq.logits_at >= 0:
                if seq.request.top_logprobs and not seq.generated and seq.top is None:
                    seq.top = self._top_logprobs(seq.logits_at, seq.request.top_logprobs)
                token = llama_cpp.llama_sampler_sample(seq.sampler.sampler, self.context.ctx, seq.logits_at)
                self._advance(seq, token)

    def _top_logprobs(self, at: int, k: int) -> tuple[tuple[str, float], ...]:
        """The k most likely next tokens at batch position ``at`` and their log-probabilities (the
        model's own distribution, before temperature or top-p), as llama.cpp's server gives them."""
        import numpy as np

        n_vocab = self._llama_cpp.llama_vocab_n_tokens(self.vocab)
        logits = np.ctypeslib.as_array(self._llama_cpp.llama_get_logits_ith(self.context.ctx, at), shape=(n_vocab,))
        logits = logits.astype(np.float64)
        top = np.argsort(-logits, kind="stable")[:k]
        norm = np.logaddexp.reduce(logits)
        return tuple((self._piece(int(t)).decode("utf-8", errors="replace"), float(logits[t] - norm)) for t in top)

    def _add(self, batch: Any, n: int, seq: _Sequence, token: int, *, logits: bool) -> int:
        batch.token[n] = token
        batch.pos[n] = seq.n_past
        batch.n_seq_id[n] = 1
        batch.seq_id[n][0] = seq.slot
        batch.logits[n] = logits
        if logits:
            seq.logits_at = n
        seq.n_past += 1
        return n + 1

    def _advance(self, seq: _Sequence, token: int) -> None:
        """Take one sampled token: finish the sequence if it ends here."""
        request = seq.request
        if self._llama_cpp.llama_vocab_is_eog(self.vocab, token):
            self._finish(seq, "stop")
            return
        seq.generated.append(token)
        piece = self._piece(token)
        before = len(seq.text)
        seq.text += piece
        if request.stop:
            longest = max(len(s.encode("utf-8")) for s in request.stop)
            window_start = max(0, before - longest + 1)
            window = bytes(seq.text[window_start:])
            hits = [window.find(s.encode("utf-8")) for s in request.stop]
            hits = [h for h in hits if h >= 0]
            if hits:
                del seq.text[window_start + min(hits) :]
                self._finish(seq, "stop")
                return
        # The context is full when the token just sampled has no room to be decoded.
        if len(seq.generated) >= request.max_tokens or seq.n_past >= self.n_ctx:
            self._finish(seq, "length")

    def _piece(self, token: int) -> bytes:
        """The bytes a token stands for (special tokens render as nothing, as in llama-cpp-python)."""
        piece = self._pieces.get(token)
        if piece is None:
            size = 64
            while True:
                buffer = ctypes.create_string_buffer(size)
                n = self._llama_cpp.llama_token_to_piece(self.vocab, token, buffer, size, 0, False)
                if n >= 0:
                    break
                size = -n
            piece = self._pieces[token] = buffer.raw[:n]
        return piece

    def _finish(self, seq: _Sequence, reason: str) -> None:
        request = seq.request
        completion = Completion(
            text=seq.text.decode("utf-8", errors="ignore"),
            finish_reason=reason,
            prompt_tokens=len(request.tokens),
            completion_tokens=len(seq.generated),
            latency_s=time.perf_counter() - request.start,
            top_logprobs=seq.top,
        )
        self._release(seq)
        request.done(completion)

    def _release(self, seq: _Sequence) -> None:
        self._active.remove(seq)
        self._llama_cpp.llama_memory_seq_rm(self.context.memory, seq.slot, -1, -1)
        seq.sampler.close()
        self._free.append(seq.slot)

    def _fail_all(self, error: ModelCallError) -> None:
        for seq in list(self._active):
            self._release(seq)
            seq.request.done(error)
        while self._waiting:
            self._waiting.popleft().done(error)
        while True:
            try:
                requests = self._requests.get_nowait()
            except queue.Empty:
                break
            for request in requests or ():
                request.done(error)
