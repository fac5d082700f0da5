"""Summary statistics and their rendering."""

from adhere.report.summary import ModeScores, Summary, Tally

__all__ = ["ModeScores", "Summary", "Tally"]
