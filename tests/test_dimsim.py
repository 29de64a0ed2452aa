"""Dim-Sim-format triplets: schema, agreement subset, round trip, the real format, determinism."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mdrbench import Corpus, CorpusError
from mdrbench.dimsim import COLUMNS, clean_subset, read_triplets, simulate_triplets, triplet_indices, write_triplets
from mdrbench.synth import FACTORS, draw_factors, draw_splits, draw_tags

FIXTURE = Path(__file__).parent / "fixtures" / "dimsim_sample.csv"


@pytest.fixture(scope="module")
def corpus():
    """A metadata-only synthetic corpus: triplets need factors and durations, not audio."""
    factors = draw_factors(200, seed=3, min_duration=10.0, max_duration=12.0)
    vocabulary, tags = draw_tags(factors, seed=3)
    return Corpus(track_ids=np.array([f"synth-{i:06d}" for i in range(200)]), sample_rate=16000,
                  durations=factors["duration"].to_numpy(), vocabulary=vocabulary, tags=tags,
                  splits=draw_splits(200, seed=3), factors=factors[list(FACTORS)])


@pytest.fixture(scope="module")
def triplets(corpus):
    return simulate_triplets(corpus, 400, split="test", seed=1)


def test_schema_and_values(corpus, triplets):
    assert tuple(triplets.columns) == COLUMNS
    assert len(triplets) == 400
    test_ids = set(corpus.track_ids[corpus.split_indices("test")])
    for role in ("anchor", "song1", "song2"):
        assert set(triplets[f"{role}_id"]) <= test_ids
        np.testing.assert_allclose(triplets[f"{role}_start_seconds"] * 16000, triplets[f"{role}_start_samples"])
    assert (triplets["anchor_id"] != triplets["song1_id"]).all()
    assert (triplets["song1_id"] != triplets["song2_id"]).all()
    durations = dict(zip(corpus.track_ids, corpus.durations, strict=True))
    ends = triplets["song2_start_seconds"] + 3.0
    assert (ends <= triplets["song2_id"].map(durations) + 1e-9).all()
    raters = triplets["song1_vote"] + triplets["song2_vote"]
    assert raters.between(5, 12).all() and raters.nunique() > 4
    assert (triplets["sampling_rate"] == 16000).all() and (triplets["clip_lengths_samples"] == 48000).all()


def test_votes_follow_shared_factors(corpus, triplets):
    """Raters prefer the song that shares more factors with the anchor, as people would."""
    codes = corpus.factors.set_index(corpus.track_ids)
    shared = {role: np.array([(codes.loc[a] == codes.loc[s]).sum() for a, s in
                              zip(triplets["anchor_id"], triplets[f"{role}_id"], strict=True)])
              for role in ("song1", "song2")}
    clear = shared["song1"] != shared["song2"]
    majority_first = triplets["song1_vote"] > triplets["song2_vote"]
    agreement = np.mean(majority_first[clear] == (shared["song1"] > shared["song2"])[clear])
    assert agreement > 0.8


def test_clean_subset(triplets):
    clean = clean_subset(triplets, agreement=0.9)
    share = clean[["song1_vote", "song2_vote"]].max(axis=1) / clean[["song1_vote", "song2_vote"]].sum(axis=1)
    assert (share >= 0.9).all()
    everything = triplets[["song1_vote", "song2_vote"]]
    expected = (everything.max(axis=1) / everything.sum(axis=1) >= 0.9).sum()
    assert len(clean) == expected and 0 < len(clean) < len(triplets)
    assert len(clean_subset(triplets, agreement=0.5)) == len(triplets)


def test_round_trip(tmp_path, triplets):
    path = tmp_path / "triplets.csv"
    write_triplets(triplets, path)
    again = read_triplets(path)
    pd.testing.assert_frame_equal(again, triplets, check_dtype=False)


def test_reads_real_format_fixture():
    frame = read_triplets(FIXTURE)
    assert tuple(frame.columns) == COLUMNS and len(frame) == 4
    assert frame.loc[0, "anchor_id"] == "TRAAAAW128F429D538"
    assert (frame["sampling_rate"] == 22050).all()
    assert len(clean_subset(frame)) == 2  # 9/10 and 12/12


def test_missing_columns_named(tmp_path):
    path = tmp_path / "broken.csv"
    pd.read_csv(FIXTURE).drop(columns=["song2_vote", "sampling_rate"]).to_csv(path, index=False)
    with pytest.raises(ValueError, match="song2_vote") as error:
        read_triplets(path)
    assert "sampling_rate" in str(error.value) and "broken.csv" in str(error.value)


def test_triplet_indices(corpus, triplets):
    anchor, positive, negative, anchor_start, positive_start, negative_start = triplet_indices(triplets, corpus)
    untied = triplets[triplets["song1_vote"] != triplets["song2_vote"]]
    assert len(anchor) == len(untied) == len(positive_start)
    first = untied.iloc[0]
    winner = "song1" if first["song1_vote"] > first["song2_vote"] else "song2"
    assert corpus.track_ids[positive[0]] == first[f"{winner}_id"]
    assert positive_start[0] == first[f"{winner}_start_seconds"]
    assert corpus.track_ids[anchor[0]] == first["anchor_id"] and anchor_start[0] == first["anchor_start_seconds"]
    assert not np.any(positive == negative)
    with pytest.raises(CorpusError, match="TRAAAAW128F429D538"):
        triplet_indices(read_triplets(FIXTURE), corpus)


def test_deterministic(corpus, triplets):
    pd.testing.assert_frame_equal(simulate_triplets(corpus, 400, split="test", seed=1), triplets)
    assert not simulate_triplets(corpus, 400, split="test", seed=2).equals(triplets)
