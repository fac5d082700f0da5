"""Seeded kwargs samplers: every sample is a valid constraint, the same seed gives the same ones."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from adhere import conflicts, ids
from adhere.constraints.sampling import (
    check_pool, default_pool, parse_weights, prompt_bound, sample_compatible, sample_constraint, samplers,
)  # fmt: skip

IFEVAL_SAMPLED = set(default_pool(quoting=True))
from adhere.errors import InputError


def test_every_sampler_gives_valid_constraints():
    # IFEval's 25 less the one that fixes the whole answer, each declared with its class.
    assert IFEVAL_SAMPLED == set(ids("ifeval")) - {"detectable_format:constrained_response"}
    assert prompt_bound() == {"combination:repeat_prompt", "copy:copy", "copy:copying_simple", "copy:copying_multiple",
                              "new:copy_span_idx"}  # IFEval's, and IFEvalG's copying instructions  # fmt: skip
    rng = random.Random(0)
    for cid in sorted(IFEVAL_SAMPLED):
        sampler = samplers()[cid]
        for _ in range(50):
            from adhere import build

            constraint = build(cid, sampler(rng))
            assert constraint.describe()


def test_sampling_is_seeded_and_avoids_conflicts():
    def draw(seed):
        return sample_compatible(random.Random(seed), 5)

    assert draw(7) == draw(7) and draw(7) != draw(8)
    for seed in range(30):
        assert conflicts([c.id for c in draw(seed)]) == []
    # The default pool (multi-turn conversations) never asks to repeat a request it cannot quote.
    drawn = {c.id for seed in range(300) for c in sample_compatible(random.Random(seed), 3)}
    assert drawn == IFEVAL_SAMPLED - prompt_bound()


def test_a_single_draw_avoids_what_it_is_told_to():
    rng = random.Random(1)
    for _ in range(200):
        constraint = sample_constraint(rng, avoid=["punctuation:no_comma", "language:response_language"])
        assert conflicts([constraint.id, "punctuation:no_comma", "language:response_language"]) == []


def test_weights_draw_an_id_more_often_and_keep_draws_compatible():
    lower = "change_case:english_lowercase"
    def share(weights):  # of two-constraint draws that hold the id
        rng = random.Random(5)
        drawn = Counter(c.id for _ in range(400) for c in sample_compatible(rng, 2, weights=weights))
        return drawn[lower] / 400

    plain, weighted = share(None), share({lower: 10.0})
    assert plain < 0.15 and weighted > 0.4  # each draw: 1 of 23 ids against 10 of 32
    rng = random.Random(2)
    for _ in range(100):
        assert conflicts([c.id for c in sample_compatible(rng, 3, weights={lower: 50.0})]) == []
    # No weights: the draw is the one seeds gave before weights existed (rng.choice over the pool).
    pool = sorted(IFEVAL_SAMPLED - prompt_bound())
    assert sample_constraint(random.Random(9)).id == random.Random(9).choice(pool)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["change_case:english_lowercase"], "takes ID=W with W a positive number"),
        (["change_case:english_lowercase=0"], "takes ID=W"),
        (["change_case:english_lowercase=many"], "takes ID=W"),
        (["=2"], "takes ID=W"),
        (["punctuation:no_comma=2", "punctuation:no_comma=3"], "names 'punctuation:no_comma' twice"),
    ],
)
def test_bad_weights_are_named(items, message):
    with pytest.raises(InputError, match=message):
        parse_weights(items)


def test_weights_outside_the_pool_are_refused():
    assert parse_weights(["punctuation:no_comma=2.5"]) == (("punctuation:no_comma", 2.5),)
    with pytest.raises(InputError, match="'no:such' cannot be sampled"):
        check_pool(None, (), {"no:such": 2.0})
    with pytest.raises(InputError, match="weight is given to punctuation:no_comma, which the ids drawn from leave out"):
        check_pool(["keywords:existence"], (), {"punctuation:no_comma": 2.0})
