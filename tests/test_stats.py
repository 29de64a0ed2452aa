"""The statistics of the findings on constructed data: a known difference is found, a null difference comes out
undetermined at about the nominal rate, the resampling agrees with scipy and scikit-learn."""

import numpy as np
import pytest
from scipy import stats as scipy_stats
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from mdrbench import stats
from mdrbench.evidence import bootstrap_weights, weighted_adjusted_balanced_accuracy, weighted_auc


def simulated_benchmark(rng, n_seeds, n_queries, seed_sd, query_sd, residual_sd, difference, n_resamples=200):
    """One benchmark of a paired difference (model A minus model B) with crossed noise: a per-seed effect, a
    per-query effect shared by every seed (the same test tracks), and seed-by-query residuals. Returns the
    estimate the report would form: per-seed means on the whole test set, plus query-resampled seed means."""
    per_query = (difference + rng.normal(0, seed_sd, n_seeds)[:, None] + rng.normal(0, query_sd, n_queries)[None, :]
                 + rng.normal(0, residual_sd, (n_seeds, n_queries)))
    weights = rng.multinomial(n_queries, np.full(n_queries, 1 / n_queries), size=n_resamples) / n_queries
    return stats.two_level_estimate(per_query.mean(axis=1), (weights @ per_query.T).mean(axis=1), n_queries)


def decided_share(n_benchmarks, **design):
    rng = np.random.default_rng(7)
    decided = 0
    for _ in range(n_benchmarks):
        low, high = simulated_benchmark(rng, **design).interval()
        decided += low > 0 or high < 0
    return decided / n_benchmarks


@pytest.mark.parametrize("noise", [
    {"seed_sd": 1.0, "query_sd": 0.2, "residual_sd": 0.2},  # seed noise dominates: df falls to seeds - 1
    {"seed_sd": 0.1, "query_sd": 4.0, "residual_sd": 3.0},  # query noise dominates: many degrees of freedom
    {"seed_sd": 0.4, "query_sd": 8.0, "residual_sd": 3.0},  # both
])
def test_a_null_difference_is_decided_at_about_the_nominal_rate(noise):
    share = decided_share(400, n_seeds=3, n_queries=300, difference=0.0, **noise)
    assert 0.015 <= share <= 0.09, share


def test_seed_noise_alone_undercovers_when_queries_are_noisy():
    """Why both levels: the seeds share one test set, so its draw is invisible to the spread over seeds; with
    query noise dominating, an interval over seeds alone decides a null far too often."""
    rng = np.random.default_rng(3)
    decided = 0
    for _ in range(300):
        per_query = rng.normal(0, 0.1, 3)[:, None] + rng.normal(0, 4.0, 300)[None, :] + rng.normal(0, 3.0, (3, 300))
        low, high = stats.two_level_estimate(per_query.mean(axis=1)).interval()  # seeds only
        decided += low > 0 or high < 0
    assert decided / 300 > 0.12  # about 17%, against the nominal 5% of the two-level interval


def test_a_known_difference_is_found_with_the_power_the_design_promises():
    design = {"n_seeds": 3, "n_queries": 300, "seed_sd": 0.3, "query_sd": 3.0, "residual_sd": 2.0}
    # the true variance components of this design: what minimum_detectable_effect is computed from
    truth = stats.Estimate(0.0, seed_variance=0.3**2 + 2.0**2 / 300, query_variance=(3.0**2 + 2.0**2 / 3) / 300,
                           n_seeds=3, n_queries=300)
    detectable = stats.minimum_detectable_effect(truth)
    power = decided_share(400, difference=detectable, **design)
    assert 0.65 <= power <= 0.95, (detectable, power)
    assert decided_share(100, difference=3 * detectable, **design) == 1.0


def test_more_seeds_or_tracks_shrink_the_detectable_effect():
    estimate = stats.Estimate(1.0, seed_variance=4.0, query_variance=0.5, n_seeds=3, n_queries=400)
    as_run = stats.minimum_detectable_effect(estimate)
    assert stats.minimum_detectable_effect(estimate, seeds=10) < as_run
    query_bound = stats.Estimate(1.0, seed_variance=0.3, query_variance=2.0, n_seeds=3, n_queries=400)
    assert stats.minimum_detectable_effect(query_bound, queries=1600) < stats.minimum_detectable_effect(query_bound)
    needed = stats.seeds_needed(estimate, as_run / 2)
    assert needed > 3 and stats.minimum_detectable_effect(estimate, seeds=needed) <= as_run / 2
    assert stats.minimum_detectable_effect(estimate, seeds=needed - 1) > as_run / 2
    # the seed part alone keeps the detectable effect above this at 3 seeds: no number of tracks will do
    assert stats.queries_needed(estimate, 0.5) is None
    tracks = stats.queries_needed(stats.Estimate(1.0, 0.01, 0.5, 3, 400), 0.5)
    assert tracks > 400 and stats.minimum_detectable_effect(stats.Estimate(1.0, 0.01, 0.5, 3, 400),
                                                            queries=tracks) <= 0.5


def test_the_query_bootstrap_agrees_with_scipy_on_one_level():
    rng = np.random.default_rng(0)
    per_query = rng.gamma(2.0, 1.0, 500)
    weights = bootstrap_weights(len(per_query), 4000, seed=1)
    replicates = weights @ per_query / len(per_query)
    reference = scipy_stats.bootstrap((per_query,), np.mean, n_resamples=4000, method="percentile",
                                      random_state=np.random.default_rng(2))
    assert replicates.std(ddof=1) == pytest.approx(reference.standard_error, rel=0.06)
    low, high = stats.query_bootstrap_interval(replicates)
    assert low == pytest.approx(reference.confidence_interval.low, abs=0.02)
    assert high == pytest.approx(reference.confidence_interval.high, abs=0.02)
    one_seed = stats.two_level_estimate([per_query.mean()], replicates, len(per_query))
    assert one_seed.n_seeds == 1 and np.isnan(one_seed.seed_variance)


def test_satterthwaite_degrees_of_freedom():
    assert stats.satterthwaite_df(1.0, 2, 0.0, 399) == pytest.approx(2)
    assert stats.satterthwaite_df(0.0, 2, 1.0, 399) == pytest.approx(399)
    assert 2 < stats.satterthwaite_df(1.0, 2, 1.0, 399) < 399


def test_holm_matches_a_worked_example():
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005, np.nan])
    # sorted 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 -> max(0.06, 0.04) = 0.06
    np.testing.assert_allclose(adjusted[:4], [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(adjusted[4])


def test_weighted_auc_is_scikit_learns_with_sample_weights():
    rng = np.random.default_rng(5)
    n, n_tags = 120, 4
    labels = rng.random((n, n_tags)) < 0.3
    scores = np.round(rng.normal(size=(n, n_tags)) + labels, 1)  # rounded: ties
    labels[:, 3] = False
    labels[:5, 3] = True  # a rare tag: some resamples lose every positive and leave it out
    weights = bootstrap_weights(n, 50, seed=3)
    ours = weighted_auc(scores, labels, weights)
    for row, w in enumerate(weights):
        usable = [t for t in range(n_tags) if (w * labels[:, t]).sum() > 0 and (w * ~labels[:, t]).sum() > 0]
        expected = np.mean([roc_auc_score(labels[:, t], scores[:, t], sample_weight=w) for t in usable])
        assert ours[row] == pytest.approx(expected, abs=1e-12)
    assert weighted_auc(scores, labels, np.ones((1, n)))[0] == pytest.approx(
        np.mean([roc_auc_score(labels[:, t], scores[:, t]) for t in range(n_tags)]))


def test_weighted_balanced_accuracy_is_scikit_learns():
    rng = np.random.default_rng(6)
    truth = rng.integers(0, 5, 200)
    predicted = np.where(rng.random(200) < 0.6, truth, rng.integers(0, 5, 200))
    weights = bootstrap_weights(200, 20, seed=4)
    ours = weighted_adjusted_balanced_accuracy(truth, predicted, weights)
    for row, w in enumerate(weights):
        present = np.unique(truth[w > 0])
        keep = np.isin(truth, present) & (w > 0)
        expected = balanced_accuracy_score(truth[keep], predicted[keep], sample_weight=w[keep], adjusted=True)
        assert ours[row] == pytest.approx(expected, abs=1e-12)
