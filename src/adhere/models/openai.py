"""Any OpenAI-compatible chat server: vLLM, SGLang, llama.cpp's server, Ollama, hosted APIs.

Async, with bounded concurrency, a timeout per request, and retries with exponential backoff and
jitter on 429, 5xx, timeouts and connection errors, honouring ``Retry-After``. The API key is
read from an environment variable when the backend is made; it is sent in the Authorization
header and nowhere else (not in identities, cache keys, records or errors).
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import os
import random
import re
import time
from typing import Any
from urllib.parse import urlparse

from adhere.errors import InputError, MissingExtraError
from adhere.models.base import (
    Completion,
    Messages,
    ModelCallError,
    ModelUnavailableError,
    backend,
    clean_text,
)
from adhere.models.config import GenerationConfig
from adhere.settings import setting

DEFAULT_BASE_URL = "https://api.openai.com/v1"
MAX_TOKENS_FIELDS = ("max_tokens", "max_completion_tokens")
#: Request fields adhere writes itself; extra_body may not replace them.
_OWN_FIELDS = ("model", "messages", "temperature", "top_p", "max_tokens", "max_completion_tokens", "seed", "stop",
               "logprobs", "top_logprobs")  # fmt: skip


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclasses.dataclass(frozen=True, kw_only=True)
class OpenAIOptions:
    """Options of the OpenAI-compatible backend (``openai:NAME``): ``-M key=value``."""

    base_url: str | None = setting(None, "the server, e.g. http://127.0.0.1:8000/v1 (default: OpenAI's API)")
    api_key_env: str = setting("OPENAI_API_KEY", "environment variable holding the API key")
    timeout: float = setting(120.0, "seconds per request")
    max_retries: int = setting(5, "retries of a request on 429, 5xx, timeouts and connection errors")
    concurrency: int = setting(8, "requests in flight")
    backoff_base: float = setting(0.5, "first retry's wait in seconds (doubled per retry, with jitter)")
    backoff_max: float = setting(30.0, "longest wait between retries, in seconds")
    max_retry_after: float = setting(120.0, "longest Retry-After a server may ask for, in seconds")
    max_tokens_field: str = setting("max_tokens", "the request field that carries --max-tokens (hosted reasoning "
                                    "models take max_completion_tokens)", choices=MAX_TOKENS_FIELDS)  # fmt: skip
    sampling: bool = setting(True, "send temperature and top_p (false for hosted models that refuse them; the "
                             "server's defaults apply)")  # fmt: skip
    extra_body: tuple[tuple[str, Any], ...] = setting((), "fields added to every request, e.g. "
                                                      "{chat_template_kwargs={enable_thinking=false}} or "
                                                      "{reasoning_effort=\"low\"}")  # fmt: skip


@backend("openai", OpenAIOptions)
class OpenAIBackend:
    """Chat completions from an OpenAI-compatible server."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 120.0,
        max_retries: int = 5,
        concurrency: int = 8,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 120.0,
        max_tokens_field: str = "max_tokens",
        sampling: bool = True,
        extra_body: Any = (),
    ):
        try:
            import httpx  # noqa: F401
        except ImportError:  # pragma: no cover - httpx is a core dependency
            raise MissingExtraError("the openai backend needs httpx: pip install httpx") from None
        base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        parsed = urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InputError(f"base_url {redact_url(base_url)!r} is not an http(s) URL, e.g. http://127.0.0.1:8000/v1")
        for name, value in (("timeout", timeout), ("concurrency", concurrency)):
            if value <= 0:
                raise InputError(f"openai backend: {name} must be positive, got {value}")
        if max_retries < 0:
            raise InputError(f"openai backend: max_retries must be >= 0, got {max_retries}")
        if max_tokens_field not in MAX_TOKENS_FIELDS:
            raise InputError(f"openai backend: max_tokens_field must be one of {', '.join(MAX_TOKENS_FIELDS)}, "
                             f"got {max_tokens_field!r}")  # fmt: skip
        extra = dict(extra_body)
        clash = sorted(set(extra) & set(_OWN_FIELDS))
        if clash:
            raise InputError(f"openai backend: extra_body may not set {', '.join(clash)} (adhere's own request "
                             "fields: use --max-tokens, --temperature, --stop ... or max_tokens_field)")  # fmt: skip
        self.max_tokens_field = max_tokens_field
        self.sampling = sampling
        self.extra_body = extra
        self.name = f"openai:{model}"
        self.model = model
        self.base_url = base_url
        #: The URL as messages and records show it (no password, no credential in its query).
        self.shown_url = redact_url(base_url)
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.max_retries = max_retries
        self.concurrency = concurrency
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self._api_key = os.environ.get(api_key_env) or None
        self._client = None
        self._semaphore: asyncio.Semaphore | None = None
        self._jitter = random.Random()  # jitter needs no reproducibility; never the global RNG

    def identity(self) -> dict[str, Any]:
        identity: dict[str, Any] = {"backend": "openai", "model": self.model, "base_url": redact_url(self.base_url)}
        # What changes the answers, where it differs from the default (so earlier cache keys stay).
        if not self.sampling:
            identity["sampling"] = False
        if self.extra_body:
            identity["extra_body"] = self.extra_body
        return identity

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _http(self):
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout),
                limits=httpx.Limits(max_connections=self.concurrency),
            )
            self._semaphore = asyncio.Semaphore(self.concurrency)
        return self._client

    async def check(self) -> None:
        """Fail early, in one clear line, when the server cannot be reached or refuses the key."""
        import httpx

        client = self._http()
        try:
            response = await client.get(f"{self.base_url}/models", headers=self._headers())
        except httpx.TimeoutException:
            raise ModelUnavailableError(
                f"cannot reach {self.shown_url}: no answer within {self.timeout:g}s"
            ) from None
        except httpx.TransportError as error:
            raise ModelUnavailableError(
                f"cannot reach {self.shown_url}: {redact(_describe(error), self._api_key)}; is the server running?"
            ) from None
        if response.status_code in (401, 403):
            raise ModelUnavailableError(
                f"{self.shown_url} refused the request (HTTP {response.status_code}); "
                f"set the API key in ${self.api_key_env}"
            )

    def _body(self, messages: Messages, config: GenerationConfig, sample: int) -> dict[str, Any]:
        body: dict[str, Any] = {**self.extra_body, "model": self.model, "messages": messages,
                                self.max_tokens_field: config.max_tokens}  # fmt: skip
        if self.sampling:
            body.update(temperature=config.temperature, top_p=config.top_p)
        seed = config.sample_seed(sample)
        if seed is not None:
            body["seed"] = seed
        if config.stop:
            body["stop"] = list(config.stop)
        if config.top_logprobs:
            body.update(logprobs=True, top_logprobs=config.top_logprobs)
        return body

    async def complete(self, messages: Messages, config: GenerationConfig, sample: int) -> Completion:
        import httpx

        client = self._http()
        body = self._body(messages, config, sample)
        url = f"{self.base_url}/chat/completions"
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            wait = None
            start = time.perf_counter()
            try:
                async with self._semaphore:
                    response = await client.post(url, json=body, headers=self._headers())
            except httpx.TimeoutException:
                problem = f"no answer within {self.timeout:g}s"
            except httpx.TransportError as error:
                problem = f"connection error ({redact(_describe(error), self._api_key)})"
            else:
                latency = time.perf_counter() - start
                if response.status_code == 200:
                    return _completion(response, latency, self._api_key)
                problem = f"HTTP {response.status_code}: {_snippet(response, self._api_key)}"
                if response.status_code != 429 and response.status_code < 500:
                    raise ModelCallError(f"{self.shown_url}: {problem}{self._hint(problem)}")
                wait = _retry_after(response.headers.get("Retry-After"))
                if wait is not None:
                    wait = min(wait, self.max_retry_after)
            if attempt == attempts - 1:
                raise ModelCallError(f"{self.shown_url}: {problem}; gave up after {attempts} attempts")
            if wait is None:
                ceiling = min(self.backoff_max, self.backoff_base * 2**attempt)
                wait = self._jitter.uniform(ceiling / 2, ceiling)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _hint(self, problem: str) -> str:
        """What to pass when a hosted model refuses a request field adhere sent."""
        said = problem.lower()
        if "max_completion_tokens" in said and self.max_tokens_field == "max_tokens":
            return "; pass -M max_tokens_field=max_completion_tokens"
        if self.sampling and ("temperature" in said or "top_p" in said) and "support" in said:
            return "; pass -M sampling=false to send no temperature or top_p"
        return ""

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _describe(error: Exception) -> str:
    return str(error) or type(error).__name__


#: What a secret looks like in a server's error text: a bearer token, an OpenAI-style key.
_SECRET = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+|\b(sk|rk|pk)-[A-Za-z0-9_\-]{8,}")


def redact(text: str, *secrets: str | None) -> str:
    """``text`` without the given secrets, bearer tokens or API-key-shaped words (a server may
    echo the request's key in its error; that text goes into run files and reports)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _SECRET.sub(lambda m: f"{m.group(1)}***" if m.group(1) else "***", text)


#: Query parameters of a base URL whose value is a credential.
_SECRET_PARAMS = ("key", "token", "secret", "password", "sig", "auth")


def redact_url(url: str) -> str:
    """``url`` as it may be recorded: no password in it, no credential-like query value."""
    parsed = urlparse(url)
    netloc = parsed.netloc
    if parsed.password is not None:
        user = parsed.username or ""
        host = netloc.rpartition("@")[2]
        netloc = f"{user}:***@{host}"
    query = parsed.query
    if query:
        parts = []
        for part in query.split("&"):
            name, sep, value = part.partition("=")
            if sep and any(word in name.lower() for word in _SECRET_PARAMS):
                value = "***"
            parts.append(f"{name}{sep}{value}")
        query = "&".join(parts)
    return parsed._replace(netloc=netloc, query=query).geturl()


def _snippet(response, *secrets: str | None) -> str:
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        text = response.content.decode("utf-8", "replace")
    text = redact(" ".join(text.split()), *secrets)
    return clean_text(text[:200]) or response.reason_phrase


def _content(message: Any) -> str:
    """The answer's text: a string, null (no text), or a list of content parts whose text
    parts are joined (the shape some servers give multimodal models' answers)."""
    content = message.get("content") if isinstance(message, dict) else None
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            else:
                raise ValueError("a content part without text")
        return "".join(texts)
    raise ValueError(f"content is {type(content).__name__}")


def _reasoning(message: dict[str, Any]) -> str | None:
    """The reasoning a server sends apart from the answer: ``reasoning_content`` (vLLM, SGLang,
    llama.cpp's server, DeepSeek) or ``reasoning`` (Ollama, OpenRouter); None if neither."""
    for field in ("reasoning_content", "reasoning"):
        value = message.get(field)
        if isinstance(value, str) and value:
            return value
    return None


def _completion(response, latency: float, *secrets: str | None) -> Completion:
    try:
        data = response.json()
        choice = data["choices"][0]
        if not isinstance(choice, dict) or not isinstance(choice.get("message"), dict):
            raise ValueError("no message")
        text = _content(choice["message"])
        reasoning = _reasoning(choice["message"])
        top = _first_top_logprobs(choice.get("logprobs"))
        usage = data.get("usage")
        usage = usage if isinstance(usage, dict) else {}
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError):
        raise ModelCallError(f"malformed completion response: {_snippet(response, *secrets)}") from None
    return Completion(
        text=text,
        finish_reason=choice.get("finish_reason"),
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        latency_s=latency,
        reasoning=reasoning,
        top_logprobs=top,
    )


def _first_top_logprobs(logprobs: Any) -> list[tuple[Any, Any]] | None:
    """The first token's ``top_logprobs`` of a chat completion's ``logprobs``, as (token, logprob) pairs."""
    try:
        first = logprobs["content"][0]["top_logprobs"]
        return [(entry["token"], entry["logprob"]) for entry in first]
    except (TypeError, KeyError, IndexError):
        return None
