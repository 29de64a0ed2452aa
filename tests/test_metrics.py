"""Tests of mdrbench.metrics: cross-checks against sklearn, pytorch-metric-learning and brute-force references,
property tests of the chunked nearest-neighbour search, and every documented edge case."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdrbench  # noqa: F401  (sets the keras backend before anything imports keras)
from mdrbench import metrics
from mdrbench import similarity as similarity_kernel
from mdrbench.subspaces import subspace_masks, subspace_slices

# --------------------------------------------------------------------------------------------------------------
# Brute-force references
# --------------------------------------------------------------------------------------------------------------


def reference_neighbors(embeddings, k, exclude_self=True):
    """Full similarity matrix, sort by (similarity desc, index asc); same cosine formula as the module."""
    x = np.asarray(embeddings, dtype=np.float32)
    similarity = similarity_kernel.cosine_block(x, x)
    if exclude_self:
        np.fill_diagonal(similarity, -np.inf)
    index = np.broadcast_to(np.arange(len(x)), similarity.shape)
    return np.lexsort((index, -similarity), axis=1)[:, :k]


def reference_recall(embeddings, labels, ks):
    labels = np.asarray(labels, dtype=bool)
    neighbors = reference_neighbors(embeddings, max(ks))
    result = {}
    for k in ks:
        fractions = []
        for query in range(len(labels)):
            tags = set(np.nonzero(labels[query])[0])
            if not tags:
                continue
            union = set(np.nonzero(labels[neighbors[query, :k]].any(axis=0))[0])
            fractions.append(len(tags & union) / len(tags))
        result[k] = float(np.mean(fractions))
    return result


small_integer_embeddings = st.integers(4, 30).flatmap(
    lambda n: st.integers(1, 4).flatmap(
        lambda d: st.lists(st.lists(st.integers(-2, 2), min_size=d, max_size=d), min_size=n, max_size=n)))


# --------------------------------------------------------------------------------------------------------------
# nearest_neighbors and recall_at_k
# --------------------------------------------------------------------------------------------------------------


@contextmanager
def search_path(symmetric: bool):
    """Force the symmetric block search or the row-chunk search (normally picked by k)."""
    saved = similarity_kernel._SYMMETRIC_MAX_K
    similarity_kernel._SYMMETRIC_MAX_K = 10**9 if symmetric else 0
    try:
        yield
    finally:
        similarity_kernel._SYMMETRIC_MAX_K = saved


@settings(max_examples=80, deadline=None)
@given(rows=small_integer_embeddings, chunk_size=st.integers(1, 40), symmetric=st.booleans(),
       exclude_self=st.booleans(), data=st.data())
def test_nearest_neighbors_chunked_equals_brute_force(rows, chunk_size, symmetric, exclude_self, data):
    # Integer entries in {-2..2} and few dimensions make exact ties (and zero vectors) frequent.
    embeddings = np.array(rows, dtype=np.float32)
    k = data.draw(st.integers(1, len(embeddings) - int(exclude_self)))
    with search_path(symmetric):
        got = metrics.nearest_neighbors(embeddings, k, exclude_self=exclude_self, chunk_size=chunk_size)
    np.testing.assert_array_equal(got, reference_neighbors(embeddings, k, exclude_self))


def test_nearest_neighbors_both_paths_agree_on_random_floats():
    embeddings = np.random.default_rng(0).normal(size=(300, 16)).astype(np.float32)
    with search_path(symmetric=True):
        symmetric = metrics.nearest_neighbors(embeddings, 10, chunk_size=64)
    with search_path(symmetric=False):
        rows = metrics.nearest_neighbors(embeddings, 10, chunk_size=64)
    np.testing.assert_array_equal(symmetric, rows)
    np.testing.assert_array_equal(symmetric, reference_neighbors(embeddings, 10))


@settings(max_examples=40, deadline=None)
@given(rows=small_integer_embeddings, chunk_size=st.integers(1, 40), seed=st.integers(0, 1000))
def test_recall_at_k_chunked_equals_brute_force_and_is_monotone(rows, chunk_size, seed):
    # The default path for recall_at_k (k <= 8) is the symmetric block search.
    embeddings = np.array(rows, dtype=np.float32)
    labels = np.random.default_rng(seed).random((len(embeddings), 5)) < 0.4
    labels[0, :] = [1, 0, 0, 0, 0]  # at least one tagged query
    ks = [k for k in (1, 2, 4, 8) if k < len(embeddings)]
    got = metrics.recall_at_k(embeddings, labels, ks=ks, chunk_size=chunk_size)
    expected = reference_recall(embeddings, labels, ks)
    for k in ks:
        assert got[k] == pytest.approx(expected[k], abs=1e-12)
        assert 0.0 <= got[k] <= 1.0
    values = [got[k] for k in ks]
    assert all(a <= b + 1e-12 for a, b in zip(values, values[1:], strict=False))


def test_ties_broken_by_lower_index():
    # Rows 1, 2, 3 are identical, so query 0 sees them tied; row 4 is opposite.
    embeddings = np.array([[1, 0], [1, 1], [1, 1], [1, 1], [-1, 0]], dtype=np.float32)
    neighbors = metrics.nearest_neighbors(embeddings, 3, chunk_size=2)
    np.testing.assert_array_equal(neighbors[0], [1, 2, 3])
    np.testing.assert_array_equal(neighbors[3], [1, 2, 0])  # self excluded, tied 1 and 2 first in index order
    # Tie across the cut: only two of the three tied rows fit, the lower indices win.
    np.testing.assert_array_equal(metrics.nearest_neighbors(embeddings, 2)[0], [1, 2])


def test_nearest_neighbors_with_separate_queries_does_not_exclude_self():
    embeddings = np.eye(4, dtype=np.float32)
    neighbors = metrics.nearest_neighbors(embeddings, 1, queries=embeddings[[2, 0]])
    np.testing.assert_array_equal(neighbors[:, 0], [2, 0])
    with pytest.raises(ValueError, match="dimensions"):
        metrics.nearest_neighbors(embeddings, 1, queries=np.ones((1, 3)))


def test_zero_norm_embedding_has_cosine_zero():
    # Query 0 is a zero vector: cosine 0 with all, so its neighbours are simply the lowest indices.
    embeddings = np.array([[0, 0], [1, 0], [-1, 0], [0, 1]], dtype=np.float32)
    np.testing.assert_array_equal(metrics.nearest_neighbors(embeddings, 3)[0], [1, 2, 3])
    # For query 1, the zero vector (cosine 0) ties with row 3 (orthogonal) and beats row 2 (cosine -1).
    np.testing.assert_array_equal(metrics.nearest_neighbors(embeddings, 3)[1], [0, 3, 2])


def test_recall_at_k_worked_example():
    embeddings = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], dtype=np.float32)
    labels = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 1]])
    # Query 0 (tags a, b): neighbour 1 has a -> 1/2; with 2 neighbours (1, 3) -> a, b -> 1.
    # Query 1 (a): neighbour 0 -> 1. Query 2 (c): neighbour 3 -> 1. Query 3 (b, c): neighbour 2 (c) -> 1/2;
    # its second neighbour is row 1 (cosine 0.22 > 0.11 for row 0), tag a only -> still 1/2.
    assert metrics.recall_at_k(embeddings, labels, ks=(1, 2)) == pytest.approx({1: 0.75, 2: 0.875})


def test_queries_without_tags_are_excluded_but_stay_neighbors():
    embeddings = np.array([[1, 0], [0.9, 0.1], [0, 1]], dtype=np.float32)
    labels = np.array([[1, 0], [0, 0], [1, 1]])
    # Query 1 has no tags: not scored. Query 0's nearest is the tagless row 1 -> 0; query 2's nearest is row 1 -> 0.
    assert metrics.recall_at_k(embeddings, labels, ks=(1,)) == {1: 0.0}
    # With 2 neighbours query 0 reaches row 2 (tag 0) -> 1; query 2 reaches row 0 (tag 0) -> 1/2.
    assert metrics.recall_at_k(embeddings, labels, ks=(2,))[2] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="no query has any tag"):
        metrics.recall_at_k(embeddings, np.zeros((3, 2)), ks=(1,))


def test_nan_embeddings_raise_with_count():
    embeddings = np.random.default_rng(0).normal(size=(10, 4))
    embeddings[[2, 7], 1] = np.nan
    with pytest.raises(ValueError, match=r"2 of 10 rows contain NaN.*Fix"):
        metrics.recall_at_k(embeddings, np.ones((10, 3)))
    with pytest.raises(ValueError, match="2 of 10 rows"):
        metrics.precision_at_1(embeddings, np.arange(10) % 2)


def test_bad_inputs_raise():
    embeddings = np.random.default_rng(0).normal(size=(5, 3))
    with pytest.raises(ValueError, match="k=5"):
        metrics.nearest_neighbors(embeddings, 5)
    with pytest.raises(ValueError, match="0/1"):
        metrics.recall_at_k(embeddings, np.full((5, 2), 2))
    with pytest.raises(ValueError, match=r"shape \(n, d\)"):
        metrics.recall_at_k(np.ones(5), np.ones((5, 2)))


# --------------------------------------------------------------------------------------------------------------
# precision@1, MAP@R, category scores
# --------------------------------------------------------------------------------------------------------------


def pml_scores(embeddings, labels):
    from pytorch_metric_learning.distances import CosineSimilarity
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
    from pytorch_metric_learning.utils.inference import CustomKNN

    calculator = AccuracyCalculator(include=("precision_at_1", "mean_average_precision_at_r"),
                                    k="max_bin_count", knn_func=CustomKNN(CosineSimilarity()))
    return calculator.get_accuracy(embeddings, labels)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_precision_and_map_at_r_match_pytorch_metric_learning(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 6, size=150)
    labels[0] = 99  # a lone label: left out by both
    centers = rng.normal(size=(100, 8))
    embeddings = (centers[labels] * 0.7 + rng.normal(size=(150, 8))).astype(np.float32)
    expected = pml_scores(embeddings, labels)
    assert metrics.precision_at_1(embeddings, labels, chunk_size=17) == pytest.approx(
        expected["precision_at_1"], abs=1e-6)
    assert metrics.map_at_r(embeddings, labels, chunk_size=17) == pytest.approx(
        expected["mean_average_precision_at_r"], abs=1e-6)


def test_map_at_r_worked_example_and_string_labels():
    # Labels a a a b b on a line; query 0's neighbours: 1 (a), 2 (a) -> AP@2 = 1.
    embeddings = np.array([[1, 0], [1, 0.1], [1, 0.2], [-1, 0], [-1, 0.1]], dtype=np.float32)
    labels = np.array(["a", "a", "a", "b", "b"])
    assert metrics.map_at_r(embeddings, labels) == pytest.approx(1.0)
    assert metrics.precision_at_1(embeddings, labels) == 1.0
    with pytest.raises(ValueError, match="only once"):
        metrics.map_at_r(embeddings, np.arange(5))


def test_category_retrieval_scores_in_complete_and_sub_spaces():
    rng = np.random.default_rng(0)
    genre, mood = rng.integers(0, 3, 120), rng.integers(0, 3, 120)
    # Genre lives in dims 0:3, mood in 3:6 (noisy one-hots); noise elsewhere.
    embeddings = np.concatenate([np.eye(3)[genre] * 3, np.eye(3)[mood] * 3,
                                 rng.normal(size=(120, 4))], axis=1) + rng.normal(scale=0.1, size=(120, 10))
    factors = pd.DataFrame({"genre": genre, "mood": mood})
    slices = {"genre": slice(0, 3), "mood": slice(3, 6)}
    complete = metrics.category_retrieval_scores(embeddings, factors)
    sub = metrics.category_retrieval_scores(embeddings, factors, subspace_slices=slices)
    assert list(complete.columns) == ["precision_at_1", "map_at_r", "n_queries"]
    assert list(sub.index) == ["genre", "mood"]
    assert (sub["map_at_r"] > 0.95).all()
    assert (sub["map_at_r"] > complete["map_at_r"]).all()
    assert complete.loc["genre", "precision_at_1"] == pytest.approx(metrics.precision_at_1(embeddings, genre))


# --------------------------------------------------------------------------------------------------------------
# Auto-tagging
# --------------------------------------------------------------------------------------------------------------


def test_tag_auc_matches_sklearn_macro_and_skips_degenerate_tags():
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(0)
    labels = rng.random((200, 6)) < 0.3
    scores = labels * 0.5 + rng.normal(size=(200, 6))
    categories = ["genre", "genre", "mood", "mood", "era", "era"]
    result = metrics.tag_auc(scores, labels, categories)
    assert result["roc_auc"] == pytest.approx(roc_auc_score(labels, scores, average="macro"))
    assert result["pr_auc"] == pytest.approx(average_precision_score(labels, scores, average="macro"))
    assert result["skipped_tags"] == []
    assert result["per_category"].loc["mood", "roc_auc"] == pytest.approx(
        roc_auc_score(labels[:, 2:4], scores[:, 2:4], average="macro"))
    assert list(result["per_category"].index) == ["genre", "mood", "era"]

    labels[:, 1] = False  # no positives
    labels[:, 4] = True  # no negatives
    names = list("abcdef")
    result = metrics.tag_auc(scores, labels, categories, tag_names=names)
    kept = [0, 2, 3, 5]
    assert result["skipped_tags"] == ["b", "e"]
    assert result["roc_auc"] == pytest.approx(roc_auc_score(labels[:, kept], scores[:, kept], average="macro"))
    assert np.isnan(result["per_tag"].loc["b", "roc_auc"])
    assert result["per_category"].loc["genre", "n_tags"] == 1
    with pytest.raises(ValueError, match="no tag has both"):
        metrics.tag_auc(scores, np.zeros_like(labels))


def test_prototypes_and_prototype_scores():
    embeddings = np.array([[2, 0], [0, 1], [1, 1], [0, 3]], dtype=np.float32)
    labels = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 1, 0]])
    prototypes = metrics.tag_prototypes(embeddings, labels)
    s = 1 / np.sqrt(2)
    np.testing.assert_allclose(prototypes[0], [(1 + s) / 2, s / 2], rtol=1e-6)
    np.testing.assert_allclose(prototypes[1], [s / 3, (2 + s) / 3], rtol=1e-6)
    assert np.isnan(prototypes[2]).all()  # a tag without tracks
    np.testing.assert_allclose(metrics.tag_prototypes(embeddings, labels, normalize=False)[0], [1.5, 0.5])
    scores = metrics.prototype_scores(embeddings, prototypes)
    assert scores.shape == (4, 3)
    assert scores[0, 0] == pytest.approx(prototypes[0, 0] / np.linalg.norm(prototypes[0]), rel=1e-6)
    assert np.isnan(scores[:, 2]).all()
    result = metrics.tag_auc(scores, np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 1, 1]]))
    assert result["skipped_tags"] == [2]  # all-NaN scores: skipped, reported


def test_prototype_scores_in_sub_spaces():
    rng = np.random.default_rng(0)
    embeddings, prototypes = rng.normal(size=(5, 4)), rng.normal(size=(2, 4))
    slices = {"genre": slice(0, 2), "mood": slice(2, 4)}
    scores = metrics.prototype_scores(embeddings, prototypes, ["mood", "genre"], slices)
    expected = metrics.prototype_scores(embeddings[:, 2:4], prototypes[:1, 2:4])[:, 0]
    np.testing.assert_allclose(scores[:, 0], expected, rtol=1e-5)


# --------------------------------------------------------------------------------------------------------------
# Triplets
# --------------------------------------------------------------------------------------------------------------


def test_sample_tag_triplets_follow_the_rule_and_are_reproducible():
    rng = np.random.default_rng(0)
    labels = rng.random((60, 5)) < 0.3
    labels[:, 4] = False
    labels[0, 4] = True  # one positive only: not eligible
    categories = ["genre", "genre", "mood", "mood", "era"]
    with pytest.warns(UserWarning, match="era"):
        triplets = metrics.sample_tag_triplets(labels, categories, 500, seed=3)
    assert list(triplets) == ["genre", "mood", "era"]
    assert triplets["era"].shape == (0, 3)
    for category, columns in (("genre", [0, 1]), ("mood", [2, 3])):
        anchor, positive, negative = triplets[category].T
        assert triplets[category].shape == (500, 3)
        assert (anchor != positive).all()
        shared = labels[anchor][:, columns] & labels[positive][:, columns] & ~labels[negative][:, columns]
        assert shared.any(axis=1).all()  # some tag of the category: carried by anchor and positive, not negative
    with pytest.warns(UserWarning):
        again = metrics.sample_tag_triplets(labels, categories, 500, seed=3)
    np.testing.assert_array_equal(again["genre"], triplets["genre"])


def test_sample_track_triplets():
    triplets = metrics.sample_track_triplets(7, 300, seed=1)
    assert triplets.shape == (300, 3)
    assert (triplets[:, 0] == triplets[:, 1]).all() and (triplets[:, 0] != triplets[:, 2]).all()
    assert triplets.min() >= 0 and triplets.max() < 7


def test_triplet_accuracy_strict_and_masked():
    anchor = np.array([[1, 0], [1, 0], [1, 0]], dtype=np.float32)
    positive = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
    negative = np.array([[0, 1], [1, 0], [1, 1]], dtype=np.float32)  # right, wrong, tie (wrong)
    assert metrics.triplet_accuracy(anchor, positive, negative) == pytest.approx(1 / 3)
    # Inside dim 1 only, the anchor is a zero vector: every cosine is 0, all ties, all wrong.
    assert metrics.triplet_accuracy(anchor, positive, negative, mask=np.array([0, 1])) == 0.0
    assert np.isnan(metrics.triplet_accuracy(np.zeros((0, 2)), np.zeros((0, 2)), np.zeros((0, 2))))


def test_triplet_accuracy_table_complete_and_subspace():
    rng = np.random.default_rng(0)
    n, d = 80, 8
    slices = subspace_slices(d)
    embeddings = rng.normal(size=(n, d)).astype(np.float32)
    second = embeddings + rng.normal(scale=0.01, size=(n, d)).astype(np.float32)
    triplets = {c: rng.integers(0, n, size=(50, 3)) for c in ("genre", "mood", "instrument", "era")}
    triplets["track"] = metrics.sample_track_triplets(n, 50, seed=0)
    table = metrics.triplet_accuracy_table(embeddings, triplets, slices, second_excerpt_embeddings=second)
    assert list(table.index) == ["complete", "subspace"]
    assert list(table.columns) == ["genre", "mood", "instrument", "era", "track", "overall"]
    assert table.loc["complete", "track"] == 1.0  # near-copies of the anchor
    assert np.isnan(table.loc["subspace", "track"])
    assert table.loc["subspace", "overall"] == pytest.approx(table.loc["subspace", list(slices)].mean())
    mood = triplets["mood"]
    mask = subspace_masks(d)[1]
    assert table.loc["subspace", "mood"] == metrics.triplet_accuracy(
        embeddings[mood[:, 0]], embeddings[mood[:, 1]], embeddings[mood[:, 2]], mask=mask)
    assert table.loc["complete", "genre"] == metrics.triplet_accuracy(*(embeddings[triplets["genre"][:, i]]
                                                                        for i in range(3)))
    triplets["era"] = np.zeros((0, 3), dtype=np.int64)  # a category without eligible tags
    table = metrics.triplet_accuracy_table(embeddings, {c: triplets[c] for c in ("genre", "mood", "era")}, slices)
    assert np.isnan(table.loc["complete", "era"])
    assert table.loc["complete", "overall"] == pytest.approx(table.loc["complete", ["genre", "mood"]].mean())
    with pytest.raises(ValueError, match="second_excerpt_embeddings"):
        metrics.triplet_accuracy_table(embeddings, {"track": triplets["track"]})


# --------------------------------------------------------------------------------------------------------------
# Training time and disentanglement
# --------------------------------------------------------------------------------------------------------------


def test_training_time_ratio():
    ratios = metrics.training_time_ratio({"triplet": 40, "classification": 10}, {"triplet": 3.0, "classification": 4.0})
    assert ratios == {"triplet": 3.0, "classification": 1.0}
    assert metrics.training_time_ratio(total_seconds={"a": 10.0, "b": 25.0}) == {"a": 1.0, "b": 2.5}
    with pytest.raises(ValueError, match="models differ"):
        metrics.training_time_ratio({"a": 1}, {"b": 1.0})
    with pytest.raises(ValueError, match="positive"):
        metrics.training_time_ratio(total_seconds={"a": 0.0})


def test_disentanglement_matrix_is_near_diagonal_for_a_disentangled_embedding():
    rng = np.random.default_rng(0)
    n, width = 400, 4
    categories = ("genre", "mood", "instrument", "era")
    factors = pd.DataFrame({c: rng.integers(0, 4, n) for c in categories})
    # Each block of 4 dims encodes exactly one factor (a noisy one-hot); nothing else.
    blocks = [np.eye(4)[factors[c]] * 2 + rng.normal(scale=0.3, size=(n, width)) for c in categories]
    embeddings = np.concatenate(blocks, axis=1)
    train_mask = np.arange(n) < 300
    matrix = metrics.disentanglement_matrix(embeddings, factors, subspace_slices(16), train_mask)
    assert list(matrix.index) == [*categories, "complete"]
    assert list(matrix.columns) == list(categories)
    diagonal = np.diag(matrix.loc[list(categories), list(categories)].to_numpy())
    off_diagonal = matrix.loc[list(categories), list(categories)].to_numpy()[~np.eye(4, dtype=bool)]
    assert (diagonal > 0.9).all()
    assert np.abs(off_diagonal).max() < 0.25  # adjusted balanced accuracy: chance is 0
    assert (matrix.loc["complete"] > 0.9).all()
    with pytest.raises(ValueError, match="train_mask"):
        metrics.disentanglement_matrix(embeddings, factors, subspace_slices(16), np.ones(n, dtype=bool))


def test_unit_rows_and_cosine_matrix_agree_with_sklearn():
    from sklearn.metrics.pairwise import cosine_similarity

    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(7, 5))
    vectors[2] = 0.0
    unit = metrics.unit_rows(vectors)
    np.testing.assert_allclose(np.linalg.norm(np.delete(unit, 2, axis=0), axis=1), 1.0, rtol=1e-6)
    assert (unit[2] == 0).all()  # a zero row stays zero instead of becoming NaN
    np.testing.assert_allclose(metrics.cosine_matrix(vectors), cosine_similarity(vectors), atol=1e-6)


def test_cramers_v_matches_scipy_and_its_independence_floor():
    contingency = pytest.importorskip("scipy.stats.contingency")
    rng = np.random.default_rng(0)
    genre = rng.choice(["rock", "jazz", "pop", "metal"], size=500)
    era = np.where(rng.random(500) < 0.5, genre, rng.choice(["60s", "70s", "80s"], size=500))  # half determined
    for first, second in ((genre, era), (genre, rng.choice(["a", "b", "c"], size=500))):
        table = pd.crosstab(first, second).to_numpy()
        assert metrics.cramers_v(first, second) == pytest.approx(contingency.association(table, method="cramer"))
    other = rng.choice(["a", "b", "c"], size=500)  # drawn independently of genre
    floor = metrics.cramers_v_if_independent(genre, other)
    assert metrics.cramers_v(genre, genre) == pytest.approx(1.0)
    assert metrics.cramers_v(genre, other) < 3 * floor < metrics.cramers_v(genre, era)
    with pytest.raises(ValueError, match="two values"):
        metrics.cramers_v(genre, np.full(500, "x"))
