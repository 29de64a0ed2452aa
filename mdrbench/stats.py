"""Intervals, tests and power for a benchmark with two sources of noise: training seeds and test queries.

Every model of a benchmark is trained with S seeds and scored on the same Q test tracks, so a comparison (model
A minus model B, paired on seeds and on tracks) has a seed component and a query component. Following
Bouthillier et al. (2021, "Accounting for variance in machine learning benchmarks"), both are counted:

    V = s²_seed / S  +  V_query                       (the variance of the mean difference)

- **seed component**: the sample variance of the S per-seed differences (each on the whole test set), over S,
  with S - 1 degrees of freedom. A percentile bootstrap over three seeds would span about their minimum to
  maximum and cover roughly 75%, so the seed level uses Student's t, never a bootstrap;
- **query component**: the variance, over B resamples of the test tracks, of the seed-mean difference
  recomputed on each resample (:mod:`mdrbench.evidence`: the same resamples for every model and seed, so the
  difference is paired on queries). It also holds a share of the seed-by-query noise that the seed component
  holds too (about σ²/(SQ)), so V errs on the wide side;
- **interval**: mean ± t(df) √V with Welch-Satterthwaite degrees of freedom (S - 1 for the seed part, Q - 1 for
  the query part): with few seeds and seed noise dominating, df falls towards S - 1 and the interval widens, as
  it must. Tested by simulation: under no difference, about 5% of benchmarks call one (``tests/test_stats.py``).
- **tests**: the two-sided p-value of the same t; the report corrects all its tests together with Holm's
  step-down method (family-wise error 5%, via statsmodels), the usual control when a handful of claims are
  tested once each (Dror et al. 2018 discuss paired tests and replicability across several comparisons);
- **power**: the minimum detectable effect of a design, (t_{1-α/2} + t_{power}) √V, and how many seeds or test
  tracks would bring it down to a stated practical size (not post-hoc power of the observed difference).

Functions take numpy arrays and return numbers or small dataclasses (scikit-learn style).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
POWER = 0.8
MAX_SEEDS = 200  # the power search stops here
MAX_QUERY_FACTOR = 1000  # and at 1000 times the test tracks


@dataclass(frozen=True)
class Estimate:
    """A mean difference and its variance components.

    Attributes:
        mean: the mean over seeds of the per-seed statistic (on the whole test set).
        seed_variance: s² of the per-seed values (NaN with one seed).
        query_variance: variance over test-track resamples of the seed mean (0 when no resampling applies,
            e.g. a training-time ratio).
        n_seeds: S; n_queries: the resampling units (test tracks), 0 when none.
    """

    mean: float
    seed_variance: float
    query_variance: float
    n_seeds: int
    n_queries: int

    @property
    def variance(self) -> float:
        return self.seed_variance / self.n_seeds + self.query_variance

    @property
    def standard_error(self) -> float:
        return math.sqrt(self.variance) if np.isfinite(self.variance) else math.nan

    @property
    def df(self) -> float:
        return satterthwaite_df(self.seed_variance / self.n_seeds, self.n_seeds - 1, self.query_variance,
                                self.n_queries - 1)

    def interval(self, confidence: float = CONFIDENCE) -> tuple[float, float]:
        half = stats.t.ppf(0.5 + confidence / 2, self.df) * self.standard_error
        return self.mean - half, self.mean + half

    def p_value(self, null: float = 0.0) -> float:
        """Two-sided p-value of mean = ``null``."""
        if not np.isfinite(self.standard_error):
            return math.nan
        if self.standard_error == 0:
            return 0.0 if self.mean != null else 1.0
        return float(2 * stats.t.sf(abs(self.mean - null) / self.standard_error, self.df))

    def seed_share(self) -> float:
        """The seed component's share of the variance (0..1)."""
        return float(self.seed_variance / self.n_seeds / self.variance) if self.variance > 0 else math.nan


def satterthwaite_df(first: float, first_df: float, second: float, second_df: float) -> float:
    """Welch-Satterthwaite degrees of freedom of the sum of two variance estimates."""
    parts = [(v, d) for v, d in ((first, first_df), (second, second_df)) if v > 0 and d > 0]
    if not parts:
        return math.nan
    return float(sum(v for v, _ in parts) ** 2 / sum(v * v / d for v, d in parts))


def two_level_estimate(per_seed, replicates=None, n_queries: int = 0) -> Estimate:
    """The estimate of a paired statistic over seeds and test queries.

    Args:
        per_seed: (S,) the statistic (e.g. R@1 of A minus R@1 of B) of every seed on the whole test set.
        replicates: (B,) the seed mean recomputed on B resamples of the test tracks, or None when the statistic
            has no query noise (its interval is then over seeds only).
        n_queries: the number of resampled units (test tracks), for the degrees of freedom.
    """
    per_seed = np.asarray(per_seed, dtype=float)
    n = len(per_seed)
    seed_variance = float(per_seed.var(ddof=1)) if n > 1 else math.nan
    query_variance = 0.0
    if replicates is not None:
        replicates = np.asarray(replicates, dtype=float)
        replicates = replicates[np.isfinite(replicates)]
        query_variance = float(replicates.var(ddof=1)) if len(replicates) > 1 else math.nan
    return Estimate(float(per_seed.mean()) if n else math.nan, seed_variance, query_variance, n,
                    int(n_queries) if replicates is not None else 0)


def query_bootstrap_interval(replicates, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The percentile interval of query resamples alone (one seed: one level), for checking against
    ``scipy.stats.bootstrap``."""
    return tuple(np.percentile(np.asarray(replicates, float), [50 * (1 - confidence), 50 * (1 + confidence)]))


def holm(p_values) -> np.ndarray:
    """Holm-adjusted p-values (family-wise error control over all the tests given); NaN stays NaN."""
    from statsmodels.stats.multitest import multipletests

    p_values = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p_values, np.nan)
    finite = np.isfinite(p_values)
    if finite.any():
        adjusted[finite] = multipletests(p_values[finite], method="holm")[1]
    return adjusted


# --------------------------------------------------------------------------------------------------- power
def _variance_at(estimate: Estimate, seeds: int, queries: float) -> tuple[float, float]:
    """(variance of the mean, df) if the design had ``seeds`` seeds and ``queries`` test tracks: the seed part
    scales with 1/seeds, the query part with n_queries/queries (the per-query spread assumed unchanged)."""
    seed_part = estimate.seed_variance / seeds
    query_part = estimate.query_variance * (estimate.n_queries / queries) if estimate.n_queries else 0.0
    df = satterthwaite_df(seed_part, seeds - 1, query_part, queries - 1)
    return seed_part + query_part, df


def minimum_detectable_effect(estimate: Estimate, seeds: int | None = None, queries: float | None = None,
                              alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest true difference that a two-sided t test at ``alpha`` detects with probability ``power``
    in a design of ``seeds`` seeds and ``queries`` test tracks (default: the design as run)."""
    seeds = seeds or estimate.n_seeds
    queries = queries or estimate.n_queries or 1
    if seeds < 2 or not np.isfinite(estimate.seed_variance):
        return math.nan
    variance, df = _variance_at(estimate, seeds, queries)
    if not np.isfinite(df):
        return math.nan
    return float((stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df)) * math.sqrt(variance))


def seeds_needed(estimate: Estimate, effect: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """The fewest seeds (at this many test tracks) whose design detects ``effect``; None past MAX_SEEDS."""
    for seeds in range(2, MAX_SEEDS + 1):
        if minimum_detectable_effect(estimate, seeds, None, alpha, power) <= abs(effect):
            return seeds
    return None


def queries_needed(estimate: Estimate, effect: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """The fewest test tracks (at this many seeds, on a grid of 1.1x steps) whose design detects ``effect``;
    None when no number of test tracks up to MAX_QUERY_FACTOR times today's would do (the seed noise alone is
    too large).

    The detectable effect need not fall as tracks are added: when the seed part dominates, shrinking the query
    part also lowers the degrees of freedom towards seeds - 1, so a grid is searched, not a bisection."""
    if not estimate.n_queries:
        return None
    queries = 2.0
    while queries <= estimate.n_queries * MAX_QUERY_FACTOR:
        if minimum_detectable_effect(estimate, None, queries, alpha, power) <= abs(effect):
            return int(math.ceil(queries))
        queries *= 1.1
    return None
