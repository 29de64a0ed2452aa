"""The one similarity kernel (mdrbench.similarity): its ranking rule, its spread measures, and that the metrics
and the search rank through it alike."""

import numpy as np
import pytest
from sklearn.metrics.pairwise import cosine_similarity

import mdrbench  # noqa: F401  (sets the keras backend before anything imports keras)
from mdrbench import metrics, search, similarity


def reference_top(scores, k):
    """A full stable sort by decreasing score, NaN last: the rule top_k promises."""
    return np.argsort(-np.nan_to_num(scores, nan=-np.inf), axis=-1, kind="stable")[..., :k]


@pytest.mark.parametrize("seed", range(5))
def test_top_k_is_a_stable_descending_sort_with_nan_last(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 4, size=(7, 30)).astype(np.float32)  # many ties, across the cut too
    scores[rng.random(scores.shape) < 0.1] = np.nan
    for k in (1, 3, 10, 30, 50):
        np.testing.assert_array_equal(similarity.top_k(scores, k), reference_top(scores, k))
        np.testing.assert_array_equal(similarity.top_k(scores[0], k), reference_top(scores[0], k))


def test_cosine_block_agrees_with_sklearn_and_gives_zero_rows_zero():
    rng = np.random.default_rng(0)
    queries, database = rng.normal(size=(5, 16)), rng.normal(size=(9, 16))
    np.testing.assert_allclose(similarity.cosine_block(queries, database), cosine_similarity(queries, database),
                               atol=1e-6)
    database[3] = 0.0
    assert np.all(similarity.cosine_block(queries, database)[:, 3] == 0.0)
    with pytest.raises(ValueError, match="rows contain NaN"):
        similarity.cosine_block(np.full((2, 16), np.nan), database)


def test_the_two_spread_measures_agree_and_see_a_collapse():
    rng = np.random.default_rng(1)
    spread_space = rng.normal(size=(200, 32))
    collapsed = rng.normal(size=32) + 0.01 * rng.normal(size=(200, 32))
    for space in (spread_space, collapsed):
        matrix = cosine_similarity(space)[~np.eye(len(space), dtype=bool)]
        assert similarity.mean_pairwise_cosine(space) == pytest.approx(matrix.mean(), abs=1e-6)
        assert similarity.cosine_spread(space)["mean_cosine"] == pytest.approx(matrix.mean(), abs=1e-6)
        assert similarity.cosine_spread(space)["p5_cosine"] == pytest.approx(np.percentile(matrix, 5), abs=1e-5)
    assert abs(similarity.mean_pairwise_cosine(spread_space)) < 0.05
    assert similarity.mean_pairwise_cosine(collapsed) > 0.99


def test_metrics_and_search_rank_alike():
    """The same queries against the same database: the chunked metric search and the search module's answer
    name the same neighbours in the same order (ties included: integer embeddings tie often)."""
    rng = np.random.default_rng(2)
    database = rng.integers(-2, 3, size=(60, 8)).astype(np.float32)
    queries = rng.integers(-2, 3, size=(12, 8)).astype(np.float32)
    by_metrics = metrics.nearest_neighbors(database, 5, queries=queries, chunk_size=5)
    by_search, cosines = search.nearest_across(queries, database, k=5)
    np.testing.assert_array_equal(by_metrics, by_search)
    for row in range(len(queries)):
        one, _ = search.nearest(database, queries[row], k=5)
        np.testing.assert_array_equal(one, by_metrics[row])
    assert np.all(np.diff(cosines, axis=1) <= 0)
