"""The paired comparison every findings row uses, against hand-worked values."""
import numpy as np
import pytest

from tfx_models.evaluation.paired import (CONTRADICTED, HOLDS, UNRESOLVED, PairedComparison, above_chance,
                                          compare, compare_over_seeds, mcnemar_exact, verdict, verdict_over_seeds)


def test_exact_mcnemar_by_hand():
    # 6 videos only a gets right, 2 only b: P(X <= 2 | n=8, 1/2) = (1 + 8 + 28) / 256, two-sided x2.
    assert mcnemar_exact(6, 2) == pytest.approx(74 / 256)
    assert mcnemar_exact(2, 6) == pytest.approx(74 / 256)
    assert mcnemar_exact(1, 6) == pytest.approx(2 * (1 + 7) / 128)
    assert mcnemar_exact(0, 0) == 1.0 and mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(0, 10) == pytest.approx(2 / 1024)


def test_compare_counts_the_discordant_videos_and_brackets_the_difference():
    a = [0, 1, 1, 1, 1, 1, 1, 1, 1, 0]
    b = [1, 1, 1, 0, 0, 0, 0, 0, 0, 1]
    c = compare(a, b)
    assert (c.videos, c.only_a, c.only_b) == (10, 6, 2)
    assert (c.accuracy_a, c.accuracy_b, c.difference) == pytest.approx((0.8, 0.4, 0.4))
    assert c.low <= 0.4 <= c.high and c.mcnemar_p == pytest.approx(74 / 256)
    # Per-video differences are +1 six times, -1 twice, 0 twice: the bootstrap interval of their
    # mean lies within [-0.2, 0.8] here, and a 1000-video copy narrows it around 0.4.
    wide = compare(np.repeat(a, 100), np.repeat(b, 100))
    assert 0.3 < wide.low < 0.4 < wide.high < 0.5
    with pytest.raises(ValueError, match="equal, non-empty"):
        compare([1, 0], [1])


def test_verdicts():
    def result(low, high, p=0.01):
        return PairedComparison(100, 0.5, 0.5, (low + high) / 2, low, high, 0, 0, p)

    assert verdict(result(0.01, 0.05), "a > b") == HOLDS
    assert verdict(result(-0.05, -0.01), "a > b") == CONTRADICTED
    # An interval clear of zero is not enough when McNemar's test is not significant.
    assert verdict(result(0.01, 0.05, p=0.125), "a > b") == UNRESOLVED
    assert verdict(result(-0.05, -0.01, p=0.125), "a > b") == UNRESOLVED
    assert verdict(result(-0.05, -0.04, p=0.125), "a >= b") == UNRESOLVED
    assert verdict(result(-0.01, 0.05), "a > b") == UNRESOLVED
    assert verdict(result(-0.02, 0.05), "a >= b") == HOLDS
    assert verdict(result(-0.02, 0.02), "a ~ b") == HOLDS
    assert verdict(result(0.04, 0.09), "a ~ b") == CONTRADICTED
    assert verdict(result(-0.02, 0.05), "a ~ b") == UNRESOLVED


def test_a_not_worse_claim_is_contradicted_only_when_a_is_clearly_worse():
    """'a >= b' (several findings): contradicted when the whole interval is below zero, beyond the margin,
    and McNemar's test is significant."""
    def result(low, high, p=0.01):
        return PairedComparison(100, 0.5, 0.5, (low + high) / 2, low, high, 0, 0, p)

    assert verdict(result(-0.08, -0.04), "a >= b") == CONTRADICTED
    assert verdict(result(-0.05, -0.001), "a >= b") == CONTRADICTED
    assert verdict(result(-0.08, -0.04, p=0.06), "a >= b") == UNRESOLVED  # not significant
    assert verdict(result(-0.08, 0.01), "a >= b") == UNRESOLVED  # the interval reaches zero
    assert verdict(result(-0.025, -0.01), "a >= b") == HOLDS  # worse, but by less than the margin (3 points)
    assert verdict(result(-0.04, -0.01), "a >= b", margin=0.05) == HOLDS

    # End to end: b right on all 100 videos, a on 70: 30 discordant videos, all b's.
    b = np.ones(100, bool)
    a = np.arange(100) >= 30
    worse = compare(a, b)
    assert (worse.only_a, worse.only_b) == (0, 30) and worse.high < 0 and worse.mcnemar_p < 1e-8
    assert verdict(worse, "a >= b") == CONTRADICTED
    assert verdict(compare(b, a), "a >= b") == HOLDS


def test_above_chance_by_hand():
    # 10 videos, 2 classes: P(X >= 9) = (10 + 1) / 1024 = 0.011; P(X >= 8) = (45 + 10 + 1) / 1024 = 0.055.
    assert above_chance(9, 10, 2) and not above_chance(8, 10, 2)
    # 4 classes, 3 videos all right: P = 1/64 = 0.016; 2 of 3: P = (3 * 3 + 1) / 64 = 0.16.
    assert above_chance(3, 3, 4) and not above_chance(2, 3, 4)
    # 1,000 videos of 8 classes (the where/when set's): 125 expected; 147 is p ~ 0.02, 139 p ~ 0.09.
    assert above_chance(147, 1000, 8) and not above_chance(139, 1000, 8)


def test_two_models_both_at_chance_leave_any_claim_unresolved():
    """The where/when D3D rows: 11.5% against 8.7% of 1,000 videos among 8 classes differ clearly,
    but neither net learned the classes; one model above chance keeps the usual verdict (a net
    that fails from scratch is itself the finding of "pre-training > from scratch")."""
    a, b, good = (np.arange(1000) < n for n in (115, 87, 500))  # b's right videos are a's too
    both_guessing = compare(a, b)
    assert both_guessing.low > 0 and both_guessing.mcnemar_p < 0.05
    assert verdict(both_guessing, "a > b") == HOLDS
    assert verdict(both_guessing, "a > b", classes=8) == UNRESOLVED
    assert verdict(compare(good, b), "a > b", classes=8) == HOLDS
    assert verdict(compare(good, b), "a > b", classes=2) == UNRESOLVED  # 50% of 2 classes: chance too


def test_over_seeds_the_interval_spans_what_the_seeds_disagree_on():
    # Seed 0: a right on every video, b on none (+1 each); seed 1 the reverse (-1 each). The mean is
    # 0; a resample of seeds is {0, 0}, {0, 1} or {1, 1} -> +1, 0, -1 with odds 1/4, 1/2, 1/4, so the
    # 95% interval is [-1, +1], where each seed alone (a video bootstrap) would be [+1, +1] or [-1, -1].
    a = np.array([[1] * 50, [0] * 50])
    difference, low, high = compare_over_seeds(a, 1 - a)
    assert (difference, low, high) == (0.0, -1.0, 1.0)
    # Seeds that agree: +1 on every video of both, so every resample is +1.
    assert compare_over_seeds(np.ones((3, 40)), np.zeros((3, 40))) == (1.0, 1.0, 1.0)
    # One seed, videos +1 and -1 in equal numbers: the interval is the video bootstrap's, about 0 +- 2/sqrt(n).
    one = np.array([[1, 0] * 200])
    difference, low, high = compare_over_seeds(one, 1 - one)
    assert difference == 0.0 and -0.15 < low < -0.05 and 0.05 < high < 0.15
    with pytest.raises(ValueError, match=r"\(seeds, videos\)"):
        compare_over_seeds(np.ones(4), np.ones(4))


def test_a_claim_over_seeds_holds_only_when_it_holds_on_every_seed():
    assert verdict_over_seeds([HOLDS, HOLDS, HOLDS]) == HOLDS
    assert verdict_over_seeds([CONTRADICTED] * 2) == CONTRADICTED
    assert verdict_over_seeds([HOLDS, HOLDS, UNRESOLVED]) == UNRESOLVED
    assert verdict_over_seeds([HOLDS, CONTRADICTED]) == UNRESOLVED
    assert verdict_over_seeds([UNRESOLVED] * 3) == UNRESOLVED
    with pytest.raises(ValueError, match="no seed"):
        verdict_over_seeds([])
