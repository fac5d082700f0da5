"""Generating responses: the generation config and the response cache (backends come next)."""

from adhere.models.cache import ResponseCache, cache_key
from adhere.models.config import GenerationConfig

__all__ = ["GenerationConfig", "ResponseCache", "cache_key"]
