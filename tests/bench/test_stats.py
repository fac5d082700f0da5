"""The report's statistics against golden values and independent computations."""

from __future__ import annotations

import math

import pytest

from adhere.bench import stats
from adhere.bench.stats import Outcomes, bootstrap_intervals, mcnemar_exact, paired_comparison


def binomial_two_sided(b: int, c: int) -> float:
    """McNemar's exact p computed the schoolbook way, with integers."""
    n, k = b + c, min(b, c)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)


@pytest.mark.parametrize(("b", "c"), [(1, 9), (9, 1), (0, 0), (5, 5), (0, 7), (12, 30), (100, 140)])
def test_mcnemar_matches_the_binomial_test(b, c):
    assert mcnemar_exact(b, c) == pytest.approx(binomial_two_sided(b, c), rel=1e-9, abs=1e-300)


def test_mcnemar_golden_value_and_large_counts():
    assert mcnemar_exact(1, 9) == pytest.approx(0.021484375)  # 2 * 11 / 1024
    p = mcnemar_exact(3000, 3200)  # continuity-corrected normal approximation: 0.0116
    z = (abs(3000 - 3200) - 1) / math.sqrt(6200)
    assert p == pytest.approx(math.erfc(z / math.sqrt(2)), rel=0.02)


def bernoulli(passed: int, total: int) -> Outcomes:
    return Outcomes([1] * total, [1] * passed + [0] * (total - passed), [1] * passed + [0] * (total - passed))


def test_bootstrap_interval_agrees_with_the_normal_interval():
    outcomes = bernoulli(416, 541)
    low, high = bootstrap_intervals(outcomes)["prompt_level_strict"]
    p = 416 / 541
    half = 1.96 * math.sqrt(p * (1 - p) / 541)
    assert low == pytest.approx(p - half, abs=0.006) and high == pytest.approx(p + half, abs=0.006)


def test_bootstrap_is_seeded_and_pinned(gpt4_verdict_outcomes):
    first = bootstrap_intervals(gpt4_verdict_outcomes)
    assert first == bootstrap_intervals(gpt4_verdict_outcomes)
    # Golden: adhere's verdicts of IFEval's GPT-4 responses, 1,000 resamples, seed 0.
    assert first["prompt_level_strict"] == pytest.approx([0.7338262476894639, 0.8077634011090573])
    assert first["instruction_level_strict"] == pytest.approx([0.8115228907792233, 0.8624961001019364])
    assert first["prompt_level_loose"] == pytest.approx([0.7615526802218114, 0.8299445471349353])
    assert first["instruction_level_loose"] == pytest.approx([0.8309842144655372, 0.8791271755988281])
    other = bootstrap_intervals(gpt4_verdict_outcomes, seed=1)
    assert other["prompt_level_strict"] != first["prompt_level_strict"]


def test_instruction_level_resamples_whole_prompts():
    # One prompt with 9 of 9 instructions followed, nine with 0 of 1: resampling prompts (not
    # instructions) makes the instruction-level interval much wider than 18 independent draws.
    outcomes = Outcomes([9] + [1] * 9, [9] + [0] * 9, [9] + [0] * 9)
    low, high = bootstrap_intervals(outcomes)["instruction_level_strict"]
    assert low == 0.0 and high > 0.7
    assert outcomes.point()["instruction_level_strict"] == 0.5


def test_normal_approximation_for_very_many_prompts(monkeypatch, gpt4_verdict_outcomes):
    boot = bootstrap_intervals(gpt4_verdict_outcomes)
    monkeypatch.setattr(stats, "BOOTSTRAP_MAX_PROMPTS", 100)
    normal = bootstrap_intervals(gpt4_verdict_outcomes)
    assert normal["method"].startswith("normal approximation")
    for metric in stats.METRICS:
        assert normal[metric] == pytest.approx(boot[metric], abs=0.006)


def test_paired_comparison_of_a_run_with_itself_finds_nothing(gpt4_verdict_outcomes):
    result = paired_comparison(gpt4_verdict_outcomes, gpt4_verdict_outcomes)
    for metric in stats.METRICS:
        entry = result["metrics"][metric]
        assert entry["delta"] == 0 and entry["interval"] == [0.0, 0.0] and entry["p_bootstrap"] == 1.0
    assert result["metrics"]["prompt_level_strict"]["mcnemar"] == {"only_a": 0, "only_b": 0, "p": 1.0}


def test_paired_comparison_counts_discordant_prompts():
    a = Outcomes([1] * 40, [1] * 20 + [0] * 20, [1] * 40)
    b = Outcomes([1] * 40, [1] * 10 + [0] * 10 + [1] * 18 + [0] * 2, [1] * 40)
    result = paired_comparison(a, b)
    strict = result["metrics"]["prompt_level_strict"]
    assert strict["delta"] == pytest.approx((28 - 20) / 40)
    assert strict["mcnemar"]["only_a"] == 10 and strict["mcnemar"]["only_b"] == 18
    assert strict["mcnemar"]["p"] == pytest.approx(binomial_two_sided(10, 18))
    low, high = strict["interval"]
    assert low < strict["delta"] < high
    assert result["metrics"]["prompt_level_loose"]["delta"] == 0


def test_a_clear_improvement_is_significant():
    a, b = bernoulli(20, 100), bernoulli(60, 100)
    result = paired_comparison(a, b)["metrics"]["prompt_level_strict"]
    assert result["p_bootstrap"] < 0.01 and result["mcnemar"]["p"] < 1e-9
    assert result["interval"][0] > 0.25
