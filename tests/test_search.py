"""mdrbench.search: embed any corpus with a run's model (resampled to its front-end), search by example, by tag,
in a sub-space and across corpora; the .npz format of `mdrbench embed`."""

import json

import numpy as np
import pytest

from mdrbench.search import (
    Embeddings,
    SearchError,
    audio_corpus,
    by_tag,
    embed_corpus,
    find_track,
    load_embeddings,
    load_run_model,
    nearest,
    nearest_across,
    run_frontend,
    run_test_set,
    save_embeddings,
    subspace_block,
)
from mdrbench.sources import load_real_music, real_music_dir

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

TINY_BACKBONE = {"channels": (8, 16)}


def write_run(folder, config_name, corpus):
    """A run folder as `mdrbench train` writes it, with an untrained tiny model (search needs no training)."""
    from mdrbench.configs import get_config
    from mdrbench.evaluate import ModelEmbedder, track_arrays
    from mdrbench.features import FRONTENDS, compute_features
    from mdrbench.models import build_model
    from mdrbench.results import RunFolder
    from mdrbench.train import TrainResult, _tag_categories, save_result

    settings = FRONTENDS["compact"]
    features = compute_features(corpus, settings, cache_dir=False, progress=False)
    config = get_config(config_name)
    import keras

    keras.utils.set_random_seed(0)
    model = build_model(config, _tag_categories(corpus), input_shape=(1, settings.n_mels, settings.excerpt_frames),
                        **TINY_BACKBONE)
    result = TrainResult(model, config, {}, 0, 0, "cap", 0, 0.0, 0.0, 0.0, 1, 1)
    save_result(result, folder, features_settings=settings)
    arrays = track_arrays(ModelEmbedder(model), corpus, features)
    RunFolder(folder).write_test_arrays(arrays["test_embeddings"], arrays["tag_scores"],
                                        corpus.track_ids[corpus.split_indices("test")], arrays["test_excerpts"],
                                        corpus.vocabulary)
    return features


@pytest.fixture(scope="module")
def real():
    return load_real_music()  # 22,050 Hz OGG: resampled to the model's 16 kHz on load


@pytest.fixture(scope="module")
def proxy_run(tmp_path_factory, real):
    folder = tmp_path_factory.mktemp("runs") / "proxy"
    write_run(folder, "proxy-norm-dis", real)
    return folder


def test_embed_corpus_matches_the_runs_stored_test_embeddings(proxy_run, real):
    model, settings, vocabulary = load_run_model(proxy_run)
    assert settings == run_frontend(proxy_run) and settings.sample_rate == 16000
    assert vocabulary.tags == real.vocabulary.tags
    track_ids, embeddings, tag_scores = embed_corpus(proxy_run, real, cache_dir=False)
    assert list(track_ids) == list(real.track_ids)
    assert embeddings.shape == (5, 256) and embeddings.dtype == np.float32
    assert tag_scores.shape == (5, len(real.vocabulary)) and np.isfinite(tag_scores).all()
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    stored = run_test_set(proxy_run)
    test = real.split_indices("test")
    assert list(stored.track_ids) == list(real.track_ids[test])
    # the same fixed excerpts as the benchmark: a new corpus lands in the run's space
    np.testing.assert_allclose(embeddings[test], stored.embeddings, atol=1e-4)
    np.testing.assert_allclose(tag_scores[test], stored.tag_scores, atol=1e-3)
    # a bare model (no run folder) finds its front-end from its input shape
    again = embed_corpus(model, real.subset(test), cache_dir=False)
    np.testing.assert_allclose(again.embeddings, stored.embeddings, atol=1e-4)


def test_loose_audio_files_and_cross_corpus_search(proxy_run, real, tmp_path):
    files = sorted(real_music_dir().glob("*.ogg"))[:2]
    corpus = audio_corpus(files)
    assert list(corpus.track_ids) == [f.stem for f in files] and set(corpus.splits) == {"test"}
    assert corpus.info["source"]["rates"] == {"22050": 2}
    loose = embed_corpus(proxy_run, corpus, cache_dir=False)
    whole = embed_corpus(proxy_run, real, cache_dir=False)
    rows, cosines = nearest_across(loose.embeddings, whole.embeddings, k=3, subspace="genre")
    assert rows.shape == cosines.shape == (2, 3)
    for query, track_id in enumerate(loose.track_ids):  # each file's nearest track in the corpus is itself
        assert whole.track_ids[rows[query, 0]] == track_id and cosines[query, 0] == pytest.approx(1, abs=1e-4)
    assert (np.diff(cosines, axis=1) <= 1e-6).all()
    # and the reverse: corpus tracks against the loose files
    back, _ = nearest_across(whole.embeddings, loose.embeddings, k=1)
    assert loose.track_ids[back[find_track(whole.track_ids, files[0].stem), 0]] == files[0].stem


def test_triplet_models_score_tags_by_prototypes_or_nan(tmp_path, real):
    folder = tmp_path / "triplet"
    write_run(folder, "triplet-norm-dis", real)
    scores = embed_corpus(folder, real, cache_dir=False).tag_scores
    carried = real.tags[real.split_indices("train")].any(axis=0)
    assert np.isfinite(scores[:, carried]).all() and np.isnan(scores[:, ~carried]).all()
    untagged = embed_corpus(folder, audio_corpus([real_music_dir() / "macleod_vibe_ace.ogg"]), cache_dir=False)
    assert np.isnan(untagged.tag_scores).all()
    with pytest.raises(SearchError, match="no track has a score"):
        by_tag(untagged.tag_scores, 0, 1)


def test_nearest_by_index_by_vector_and_in_a_subspace():
    rng = np.random.default_rng(0)
    embeddings = rng.standard_normal((6, 8)).astype(np.float32)
    indices, cosines = nearest(embeddings, 2, k=3)
    assert 2 not in indices and len(indices) == 3 and (np.diff(cosines) <= 0).all()
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    expected = np.argsort(-(unit @ unit[2]))[1:4]
    np.testing.assert_array_equal(indices, expected)
    # a vector from elsewhere: nothing is left out, its copy is the first hit
    indices, cosines = nearest(embeddings, embeddings[2] * 3, k=2)
    assert indices[0] == 2 and cosines[0] == pytest.approx(1.0)
    # sub-space: only that block of dims counts (8 dims -> 2 per category; mood is 2:4)
    changed = embeddings.copy()
    changed[:, [0, 1, 4, 5, 6, 7]] = rng.standard_normal((6, 6))
    np.testing.assert_array_equal(nearest(changed, 0, 5, subspace="mood")[0], nearest(embeddings, 0, 5, "mood")[0])
    assert subspace_block(8, "era") == slice(6, 8) and subspace_block(8, None) == slice(0, 8)
    assert len(nearest(embeddings, 0, k=50)[0]) == 5  # k larger than the database: all others


def test_search_errors_say_what_and_the_fix():
    embeddings = np.eye(4, dtype=np.float32)
    with pytest.raises(SearchError, match="unknown sub-space 'tempo'"):
        nearest(embeddings, 0, 1, subspace="tempo")
    with pytest.raises(SearchError, match="different models"):
        nearest(embeddings, np.ones(3), 1)
    with pytest.raises(SearchError, match="k must be a positive integer"):
        nearest(embeddings, 0, 0)
    with pytest.raises(SearchError, match="outside the 4 database rows"):
        nearest(embeddings, 9, 1)
    with pytest.raises(SearchError, match="one D"):
        nearest_across(embeddings, np.eye(3), 1)
    with pytest.raises(SearchError, match="'zz' is not in the corpus"):
        find_track(np.array(["a", "b"]), "zz")
    scores = np.array([[0.1, np.nan], [0.9, np.nan], [np.nan, np.nan]], dtype=np.float32)
    indices, values = by_tag(scores, 0, 5)
    np.testing.assert_array_equal(indices, [1, 0])  # NaN scores left out
    with pytest.raises(SearchError, match="outside the 2 tag columns"):
        by_tag(scores, 2, 1)


def test_npz_round_trip_without_pickle(tmp_path, real):
    embedded = Embeddings(np.array(["a", "b"]), np.ones((2, 4), np.float32), np.zeros((2, 11), np.float32))
    path = save_embeddings(tmp_path / "e.npz", embedded, real.vocabulary, run="r", frontend={"sample_rate": 16000})
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files) == sorted(["track_ids", "embeddings", "tag_scores", "tags", "categories", "meta"])
        assert json.loads(str(data["meta"]))["run"] == "r"
    loaded, vocabulary, meta = load_embeddings(path)
    assert list(loaded.track_ids) == ["a", "b"] and vocabulary == real.vocabulary and meta["dim"] == 4
    (tmp_path / "bad.npz").write_text("not a zip")
    with pytest.raises(SearchError, match="cannot be read as .npz"):
        load_embeddings(tmp_path / "bad.npz")
    np.savez(tmp_path / "other.npz", x=np.ones(2))
    with pytest.raises(SearchError, match="not an embeddings file"):
        load_embeddings(tmp_path / "other.npz")
    with pytest.raises(SearchError, match="no such embeddings file"):
        load_embeddings(tmp_path / "none.npz")


def test_run_folder_errors(tmp_path):
    with pytest.raises(SearchError, match="model.keras not found"):
        load_run_model(tmp_path)
    with pytest.raises(SearchError, match="test_embeddings.npy is missing"):
        run_test_set(tmp_path)
    with pytest.raises(SearchError, match="no audio files"):
        audio_corpus([])
