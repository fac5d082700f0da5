"""Seeded kwargs samplers: every sample is a valid constraint, the same seed gives the same ones."""

from __future__ import annotations

import random

from adhere import conflicts, ids
from adhere.constraints.sampling import PROMPT_BOUND, SAMPLERS, sample_compatible, sample_constraint


def test_every_sampler_gives_valid_constraints():
    assert set(SAMPLERS) <= set(ids("ifeval"))
    rng = random.Random(0)
    for cid, sampler in SAMPLERS.items():
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
    assert drawn.isdisjoint(PROMPT_BOUND) and len(drawn) == len(SAMPLERS) - len(PROMPT_BOUND)


def test_a_single_draw_avoids_what_it_is_told_to():
    rng = random.Random(1)
    for _ in range(200):
        constraint = sample_constraint(rng, avoid=["punctuation:no_comma", "language:response_language"])
        assert conflicts([constraint.id, "punctuation:no_comma", "language:response_language"]) == []
