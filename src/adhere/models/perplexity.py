"""Perplexity of a response under a reference GGUF model (an InstructMining indicator).

The prompt is rendered with the model's own chat template (as generation renders it); the
perplexity is ``exp`` of the mean negative log-likelihood of the response's tokens given it.
Only llama.cpp models (``local``, ``gguf:PATH``) are supported: the scorer runs in this process.
"""

from __future__ import annotations

import logging
import math
import os

from adhere.errors import MissingExtraError
from adhere.models.llamacpp import INSTALL_HINT, chat_formatter, gguf_path


class Perplexity:
    """``scorer(prompt, response) -> float`` (``nan`` for an empty response)."""

    def __init__(self, spec: str = "local", *, n_ctx: int = 2048, n_threads: int | None = None):
        try:
            import llama_cpp
            import numpy
        except ImportError:
            raise MissingExtraError(f"perplexity needs llama-cpp-python: {INSTALL_HINT}") from None
        self._np = numpy
        self.spec = spec
        self.path = gguf_path(spec, "perplexity")
        logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
        from adhere.models.llama_engine import plain_buffers_on_amx

        with plain_buffers_on_amx():  # llama.cpp#20824, as the llama.cpp backend
            self._llm = llama_cpp.Llama(
                model_path=str(self.path), n_ctx=n_ctx, logits_all=True, verbose=False,
                n_threads=n_threads or os.cpu_count() or 1, n_batch=512,
            )  # fmt: skip
        self._formatter = chat_formatter(self._llm._model, self.path)
        self.n_ctx = n_ctx

    def __call__(self, prompt: str, response: str) -> float:
        np = self._np
        rendered = self._formatter(messages=[{"role": "user", "content": prompt}]).prompt
        prefix = self._llm.tokenize(rendered.encode("utf-8"), add_bos=False, special=True)
        answer = self._llm.tokenize(response.encode("utf-8"), add_bos=False, special=False)
        # Keep the whole response if it fits, cutting the prompt from the left; else the response's start.
        prefix = prefix[-max(1, self.n_ctx - len(answer)) :]
        tokens = (prefix + answer)[: self.n_ctx]
        if len(tokens) <= len(prefix):
            return math.nan
        self._llm.reset()
        self._llm.eval(tokens)
        logits = np.asarray(self._llm.scores[len(prefix) - 1 : len(tokens) - 1], dtype=np.float64)
        targets = np.asarray(tokens[len(prefix) :])
        top = logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(logits - top).sum(axis=1)) + top[:, 0]
        nll = log_norm - logits[np.arange(len(targets)), targets]
        return float(math.exp(nll.mean()))

    def close(self) -> None:
        self._llm.close()
