"""Benchmarks: how prompts and responses are loaded, scored and aggregated."""

from adhere.bench.items import Item, iter_items
from adhere.bench.scoring import score, score_item

__all__ = ["Item", "iter_items", "score", "score_item"]
