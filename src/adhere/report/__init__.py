"""Summary statistics and their rendering."""

from adhere.bench.summary import ModeScores, Summary, Tally

__all__ = ["ModeScores", "Summary", "Tally"]
