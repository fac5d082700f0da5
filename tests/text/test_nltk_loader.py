"""NLTK is imported without SciPy (0.8 s of a short scoring run), and NLTK's one SciPy function
still gives what it gives when SciPy was there from the start."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

SCORE = """
import sys
from adhere import build, verify
verify("Hello there. All is well.", [build("change_case:english_lowercase"), build("length_constraints:number_sentences",
       {"num_sentences": 2, "relation": "at least"})])
assert "nltk" in sys.modules and "scipy" not in sys.modules, sorted(m for m in sys.modules if m.startswith("scipy"))
"""
FISHER = """
from nltk.metrics.association import BigramAssocMeasures
print(float(BigramAssocMeasures.fisher(1, (2, 3), 10)))
"""


def run(code):
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


@pytest.mark.skipif(importlib.util.find_spec("scipy") is None, reason="without SciPy there is nothing to hide")
def test_scoring_imports_no_scipy_and_nltks_fisher_still_works():
    hidden = run(SCORE + FISHER)  # NLTK imported by adhere, SciPy hidden, then fisher called
    plain = run("import scipy.stats\n" + FISHER)  # NLTK imported with SciPy already loaded
    assert hidden == plain and float(hidden) > 0
