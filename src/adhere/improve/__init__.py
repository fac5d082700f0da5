"""Improving responses at inference time with the verifiers: best-of-N, DeCRIM, SPaR tree search."""

from adhere.improve.base import Candidate, StrategyResult, load_strategy

__all__ = ["Candidate", "StrategyResult", "load_strategy"]
