"""The procedural corpus: determinism, durations, audio range, learnable-but-not-trivial factors,
independent factors, tag noise as documented, and the on-disk cache."""

import itertools
import json
import os

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mdrbench.synth.generate as generate
from mdrbench import CATEGORIES, Corpus
from mdrbench.sizes import get_size, with_overrides
from mdrbench.synth import (
    FACTORS,
    SYNONYMS,
    draw_factors,
    draw_splits,
    draw_tags,
    ensure_corpus,
    keep_rates,
    render_track,
    synthesize,
)
from mdrbench.synth.tags import FALSE_POSITIVE_RATE, SYNONYM_RATE

TINY = with_overrides(get_size("ci"), min_duration=2.0, max_duration=3.0)


def test_factor_values():
    assert tuple(FACTORS) == CATEGORIES
    assert len(FACTORS["genre"]) >= 8 and len(FACTORS["mood"]) >= 5
    assert len(FACTORS["instrument"]) >= 6 and FACTORS["era"] == ("60s", "70s", "80s", "90s", "00s")
    assert {"female vocalists", "male vocalists"} <= set(FACTORS["instrument"])


def test_render_is_deterministic():
    rows = draw_factors(3, seed=5, min_duration=2.0, max_duration=2.5).to_dict("records")
    for row in rows[:2]:
        first, second = render_track(row, 16000), render_track(row, 16000)
        assert first.dtype == np.float32 and first.tobytes() == second.tobytes()
    assert render_track(rows[0], 16000, seed=rows[0]["seed"] + 1).tobytes() != render_track(rows[0], 16000).tobytes()
    other = draw_factors(3, seed=6, min_duration=2.0, max_duration=2.5)
    assert not other[list(FACTORS)].equals(draw_factors(3, seed=5)[list(FACTORS)]) or \
        not np.array_equal(other["seed"], draw_factors(3, seed=5)["seed"])


def test_render_rejects_bad_rows():
    row = draw_factors(1, seed=0).iloc[0].to_dict()
    with pytest.raises(ValueError, match="unknown genre 'polka'"):
        render_track(dict(row, genre="polka"), 16000)
    with pytest.raises(ValueError, match="no 'era'"):
        render_track({k: v for k, v in row.items() if k != "era"}, 16000)


def test_durations_and_range():
    factors = draw_factors(500, seed=0, min_duration=10.0, max_duration=12.0)
    assert factors["duration"].between(10.0, 12.0).all() and factors["duration"].std() > 0.4
    # every genre, mood, instrument and era renders to finite audio of the right length inside [-1, 1]
    picks = [factors[factors[c] == v].iloc[0] for c, values in FACTORS.items() for v in values]
    for row in picks[:: 3]:
        audio = render_track(row, 16000, duration=1.5)
        assert audio.shape == (24000,) and audio.dtype == np.float32
        assert np.all(np.isfinite(audio)) and np.abs(audio).max() <= 1.0
        assert 0.5 < np.abs(audio).max() < 0.95  # peak-normalized with headroom
        assert np.sqrt(np.mean(audio ** 2)) > 0.02  # not silence


def test_factors_are_independent_and_uniform():
    factors = draw_factors(20000, seed=11)
    for category, values in FACTORS.items():
        counts = factors[category].value_counts().reindex(values).to_numpy()
        assert stats.chisquare(counts).pvalue > 1e-3, category
    for first, second in itertools.combinations(FACTORS, 2):
        table = pd.crosstab(factors[first], factors[second])
        assert stats.chi2_contingency(table).pvalue > 1e-3, (first, second)


def test_tag_noise_matches_documented_rates():
    factors = draw_factors(20000, seed=2)
    vocabulary, tags = draw_tags(factors, seed=2)
    assert tags.shape == (20000, len(vocabulary)) and tags.sum(axis=1).min() >= 1
    for tag, alias in ((v, s) for s, v in SYNONYMS.items()):
        assert vocabulary.category_of(tag) == vocabulary.category_of(alias)
    rates = keep_rates()
    assert 0.35 <= min(rates.values()) and max(rates.values()) <= 0.95
    assert max(rates.values()) - min(rates.values()) > 0.3
    for category, values in FACTORS.items():
        for value in values:
            true = (factors[category] == value).to_numpy()
            observed = tags[true, vocabulary.index(value)].mean()
            # the "at least one tag" top-up adds a little to the keep rate
            assert rates[value] - 0.03 < observed < rates[value] + 0.05, (value, observed, rates[value])
            others = tags[~true, vocabulary.index(value)].mean()
            assert abs(others - FALSE_POSITIVE_RATE) < 0.005, value
    for alias, value in SYNONYMS.items():
        category = vocabulary.category_of(value)
        true = (factors[category] == value).to_numpy()
        assert abs(tags[true, vocabulary.index(alias)].mean() - SYNONYM_RATE) < 0.04, alias
    frequencies = tags.mean(axis=0)
    assert frequencies.max() / frequencies.min() > 2  # uneven, like Last.fm


def test_splits():
    splits = draw_splits(1000, seed=0)
    assert [int((splits == s).sum()) for s in ("train", "valid", "test")] == [700, 100, 200]
    assert not np.array_equal(splits, draw_splits(1000, seed=1))


def test_factors_learnable_but_not_trivial():
    """Logistic regression on per-band log-mel statistics: every category above chance, none perfect.

    240 tracks (the ci count) rendered at 4 s to fit the test budget; the mel comes from librosa.
    Measured (seeds 0, 1, 2): genre 0.77-0.80, mood 0.67-0.74, instrument 0.84-0.86, era 0.976-0.985.
    """
    librosa = pytest.importorskip("librosa")
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    factors = draw_factors(240, seed=0, min_duration=4.0, max_duration=4.0)
    audio = np.stack([render_track(row, 16000) for row in factors.to_dict("records")])
    mel = np.log(librosa.feature.melspectrogram(y=audio, sr=16000, n_fft=1024, hop_length=512, n_mels=40) + 1e-6)
    features = np.concatenate([mel.mean(axis=-1), mel.std(axis=-1)], axis=1)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    aucs = {}
    for category in FACTORS:
        labels = factors[category].to_numpy()
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000))
        # every track is scored by a model that did not see it (5-fold): steadier than one small test split
        probabilities = cross_val_predict(model, features, labels, cv=folds, method="predict_proba")
        aucs[category] = roc_auc_score(labels, probabilities, multi_class="ovr", average="macro",
                                       labels=np.unique(labels))
    print("baseline AUCs:", {c: round(a, 3) for c, a in aucs.items()})
    for category, auc in aucs.items():
        assert 0.6 < auc < 0.995, (category, auc)


def test_synthesize_in_memory():
    corpus = synthesize(TINY, seed=4, n_tracks=6, progress=False)
    assert corpus.info["name"] == "synth-ci-seed4-n6"
    generator = corpus.info["generator"]
    assert generator["seed"] == 4 and generator["size"] == "ci" and generator["tags"]["synonym_rate"] == SYNONYM_RATE
    json.dumps(corpus.info)
    assert list(corpus.track_ids[:2]) == ["synth-000000", "synth-000001"]
    assert list(corpus.factors.columns) == list(CATEGORIES)
    assert all(2.0 <= d <= 3.0 for d in corpus.durations)
    assert all(len(corpus.audio(i)) == round(corpus.durations[i] * 16000) for i in range(6))


def test_ensure_corpus_caches_and_repairs(tmp_path, monkeypatch):
    first = ensure_corpus(TINY, seed=1, root=tmp_path, n_jobs=2, progress=False, n_tracks=3)
    folder = tmp_path / "synth-ci-seed1-n3"
    assert first.root == folder and len(first) == 3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left
    # n_jobs does not change the audio (FLAC keeps 16 bits)
    in_memory = synthesize(TINY, seed=1, n_tracks=3, n_jobs=1, progress=False)
    np.testing.assert_allclose(first.audio(2), in_memory.audio(2), atol=1.5 / 32768)

    def refuse(*args, **kwargs):
        raise AssertionError("regenerated a valid cached corpus")

    monkeypatch.setattr(generate, "synthesize", refuse)
    second = ensure_corpus(TINY, seed=1, root=tmp_path, progress=False, n_tracks=3)
    np.testing.assert_array_equal(second.audio(0), first.audio(0))
    monkeypatch.undo()

    (folder / "audio" / "synth-000001.flac").unlink()  # a corrupted folder is regenerated
    repaired = ensure_corpus(TINY, seed=1, root=tmp_path, n_jobs=1, progress=False, n_tracks=3)
    assert (folder / "audio" / "synth-000001.flac").exists()
    np.testing.assert_array_equal(repaired.audio(1), first.audio(1))
    meta = json.loads((folder / "corpus.json").read_text())
    meta["generator"]["version"] = -1  # made by another generator version: regenerate
    (folder / "corpus.json").write_text(json.dumps(meta))
    assert Corpus.load(folder).info["generator"]["version"] == -1
    assert ensure_corpus(TINY, seed=1, root=tmp_path, n_jobs=1, progress=False, n_tracks=3).info["generator"][
        "version"] != -1


def test_a_generated_corpus_has_the_same_identity_wherever_it_is_made(tmp_path):
    """The reference bundle is recognised on a fresh machine: the fingerprint of a generated corpus comes from its
    generator and what it drew, not from where its files lie or when they were written."""
    here = ensure_corpus(TINY, seed=1, root=tmp_path / "here", n_jobs=1, progress=False, n_tracks=3)
    elsewhere = ensure_corpus(TINY, seed=1, root=tmp_path / "elsewhere", n_jobs=1, progress=False, n_tracks=3)
    for path in elsewhere.audio_paths:
        os.utime(elsewhere.root / path, (1_000_000, 1_000_000))  # written at another time
    assert Corpus.load(elsewhere.root).fingerprint() == here.fingerprint()
    assert synthesize(TINY, seed=1, n_tracks=3, n_jobs=1, progress=False).fingerprint() == here.fingerprint()
    other_seed = ensure_corpus(TINY, seed=2, root=tmp_path / "here", n_jobs=1, progress=False, n_tracks=3)
    assert other_seed.fingerprint() != here.fingerprint()
    other = Corpus.load(here.root)
    other.tags = other.tags.copy()
    other.tags[0] = ~other.tags[0].astype(bool)  # a different draw of tags is another corpus
    assert other.fingerprint() != here.fingerprint()
