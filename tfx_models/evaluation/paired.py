"""Two models scored on the same test videos, compared paired: the difference in accuracy
with a 95% interval (paired bootstrap over videos) and an exact McNemar test.

Two accuracies side by side say little on a few hundred videos; what tells two models apart
is the videos one gets right and the other wrong (the discordant pairs), which is all
McNemar's test reads. The findings table's verdict: a paper's direction holds when the
interval is clear of zero and McNemar's p is below `alpha`; the opposite direction, by the
same two tests, contradicts it; anything else is unresolved. Both are asked because with few
discordant videos the bootstrap interval is too narrow (4 videos against 0 give an interval
clear of zero but p = 0.125). A finding of equality ("about as good") holds when the whole
interval lies within +-margin. Two models that are both no better than guessing (an exact
one-sided binomial test against 1/classes) have not learned the classes compared, so any
difference between them leaves the claim unresolved.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

HOLDS, CONTRADICTED, UNRESOLVED = "holds", "contradicted", "unresolved"


@dataclass(frozen=True)
class PairedComparison:
    videos: int
    accuracy_a: float
    accuracy_b: float
    difference: float     # accuracy_a - accuracy_b
    low: float            # 95% interval on the difference
    high: float
    only_a: int           # videos a gets right and b wrong
    only_b: int
    mcnemar_p: float      # exact two-sided

    def to_dict(self) -> dict:
        return asdict(self)


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p: a binomial test of the discordant pairs at 1/2."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(only_a, only_b) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def above_chance(correct: int, videos: int, classes: int, alpha: float = 0.05) -> bool:
    """Whether `correct` right of `videos` beats guessing among `classes`: exact one-sided binomial."""
    p = 1.0 / classes
    log_p, log_q = math.log(p), math.log1p(-p)
    tail = sum(math.exp(math.lgamma(videos + 1) - math.lgamma(k + 1) - math.lgamma(videos - k + 1)
                        + k * log_p + (videos - k) * log_q) for k in range(correct, videos + 1))
    return tail < alpha


def compare(correct_a, correct_b, *, confidence: float = 0.95, resamples: int = 10_000,
            seed: int = 0) -> PairedComparison:
    """correct_a, correct_b: per-video booleans over the same videos in the same order."""
    a = np.asarray(correct_a, bool)
    b = np.asarray(correct_b, bool)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"need two equal, non-empty per-video vectors, got {a.shape} and {b.shape}")
    per_video = a.astype(np.int8) - b.astype(np.int8)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, a.size, (resamples, a.size))
    means = per_video[draws].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    return PairedComparison(videos=int(a.size), accuracy_a=float(a.mean()), accuracy_b=float(b.mean()),
                            difference=float(per_video.mean()), low=float(low), high=float(high),
                            only_a=only_a, only_b=only_b, mcnemar_p=mcnemar_exact(only_a, only_b))


def verdict(comparison: PairedComparison, claim: str, margin: float = 0.03, alpha: float = 0.05,
            classes: int | None = None) -> str:
    """claim: 'a > b', 'a >= b' (a not worse: holds when the interval's low end is above -margin)
    or 'a ~ b' (equal within +-margin). With `classes`, two models both at chance are unresolved."""
    if claim not in ("a > b", "a >= b", "a ~ b"):
        raise ValueError(f"claim must be 'a > b', 'a >= b' or 'a ~ b', got {claim!r}")
    if classes is not None and not learned(comparison, classes, alpha):
        return UNRESOLVED
    lo, hi = comparison.low, comparison.high
    significant = comparison.mcnemar_p < alpha
    if claim == "a > b":
        return HOLDS if lo > 0 and significant else CONTRADICTED if hi < 0 and significant else UNRESOLVED
    if claim == "a >= b":
        return HOLDS if lo > -margin else CONTRADICTED if hi < 0 and significant else UNRESOLVED
    return HOLDS if -margin < lo and hi < margin else CONTRADICTED if lo > margin or hi < -margin else UNRESOLVED


def learned(comparison: PairedComparison, classes: int, alpha: float = 0.05) -> bool:
    """Whether at least one of the two models beats guessing on the compared videos."""
    return any(above_chance(round(accuracy * comparison.videos), comparison.videos, classes, alpha)
               for accuracy in (comparison.accuracy_a, comparison.accuracy_b))


def compare_over_seeds(correct_a, correct_b, *, confidence: float = 0.95, resamples: int = 10_000,
                       seed: int = 0) -> tuple[float, float, float]:
    """correct_a, correct_b: (seeds, videos) booleans, row k of both trained with seed k.

    The difference in mean accuracy over seeds and its interval from a two-level paired
    bootstrap: seeds and videos are both resampled, the same draws for a and b, so the
    interval widens with how much the difference varies from one training run to the next,
    which one run's video bootstrap cannot see."""
    a = np.asarray(correct_a, bool)
    b = np.asarray(correct_b, bool)
    if a.shape != b.shape or a.ndim != 2 or 0 in a.shape:
        raise ValueError(f"need two equal, non-empty (seeds, videos) arrays, got {a.shape} and {b.shape}")
    per_video = a.astype(np.int8) - b.astype(np.int8)
    rng = np.random.default_rng(seed)
    seeds, videos = per_video.shape
    means = np.empty(resamples)
    for r in range(resamples):
        rows = per_video[rng.integers(0, seeds, seeds)]
        means[r] = rows[:, rng.integers(0, videos, videos)].mean()
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(per_video.mean()), float(low), float(high)


def verdict_over_seeds(verdicts: list[str]) -> str:
    """A claim decided on several seeds holds (or is contradicted) only when it does on every one."""
    if not verdicts:
        raise ValueError("no seed's verdict to combine")
    first = verdicts[0]
    return first if first in (HOLDS, CONTRADICTED) and all(v == first for v in verdicts) else UNRESOLVED
