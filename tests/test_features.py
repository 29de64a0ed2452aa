"""Tests for the log-mel front-end, the feature cache and excerpt sampling (mdrbench.features)."""

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdrbench.features as features
from mdrbench.corpus import Corpus, TagVocabulary
from mdrbench.features import (
    FRONTENDS,
    FeatureStore,
    LogMelSpectrogram,
    compute_features,
    fixed_excerpt_starts,
    log_mel,
    mel_filterbank,
    random_excerpt_starts,
)

librosa = pytest.importorskip("librosa")
keras = pytest.importorskip("keras")


def as_numpy(tensor) -> np.ndarray:
    """Layer output (a torch tensor on the torch backend) as numpy, on any device."""
    return tensor.detach().cpu().numpy()


def chirp_and_noise(sample_rate: int, seconds: float, seed: int = 0) -> np.ndarray:
    """A log sweep over the whole band plus noise: every mel band gets energy, loud and quiet parts."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    time = np.arange(n) / sample_rate
    f0, f1 = 50.0, 0.45 * sample_rate
    phase = 2 * np.pi * f0 * seconds / np.log(f1 / f0) * (np.exp(time / seconds * np.log(f1 / f0)) - 1)
    envelope = np.linspace(0.05, 0.9, n)
    return (envelope * np.sin(phase) + 0.02 * rng.standard_normal(n)).astype(np.float32)


def librosa_reference(audio: np.ndarray, frontend) -> np.ndarray:
    power = librosa.feature.melspectrogram(
        y=audio, sr=frontend.sample_rate, n_fft=frontend.n_fft, hop_length=frontend.hop_length,
        n_mels=frontend.n_mels, fmin=frontend.f_min, fmax=frontend.f_max, power=2.0, center=True)
    return (np.log10(1 + frontend.log_scale * power) - frontend.mean) / frontend.std


def tiny_corpus(seconds=(2.0, 3.5, 4.0, 3.0), sample_rate=16000) -> Corpus:
    rng = np.random.default_rng(1)
    audio = []
    for index, duration in enumerate(seconds):
        time = np.arange(int(duration * sample_rate)) / sample_rate
        tone = 0.4 * np.sin(2 * np.pi * (220.0 * (index + 1)) * time)
        audio.append((tone + 0.05 * rng.standard_normal(len(time))).astype(np.float32))
    vocabulary = TagVocabulary.from_pairs([("rock", "genre"), ("happy", "mood"), ("piano", "instrument")])
    tags = rng.integers(0, 2, size=(len(seconds), len(vocabulary)))
    return Corpus(track_ids=[f"t{i}" for i in range(len(seconds))], sample_rate=sample_rate,
                  durations=np.array([len(a) / sample_rate for a in audio]), vocabulary=vocabulary, tags=tags,
                  splits=["train", "train", "valid", "test"][: len(seconds)], info={"name": "tiny"}, _audio=audio)


# ---------------------------------------------------------------------------------------------- front-end
@pytest.mark.parametrize("name", list(FRONTENDS))
def test_filterbank_matches_librosa(name):
    frontend = FRONTENDS[name]
    reference = librosa.filters.mel(sr=frontend.sample_rate, n_fft=frontend.n_fft, n_mels=frontend.n_mels,
                                    fmin=frontend.f_min, fmax=frontend.f_max)
    ours = mel_filterbank(frontend)
    assert ours.shape == reference.shape == (frontend.n_mels, frontend.n_fft // 2 + 1)
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name", list(FRONTENDS))
def test_log_mel_matches_librosa(name):
    frontend = FRONTENDS[name]
    audio = chirp_and_noise(frontend.sample_rate, 2.3)
    reference = librosa_reference(audio, frontend)
    # the comparison covers a wide dynamic range (over 1.25 decades of log10(1 + 10 S))
    assert (reference.max() - reference.min()) * frontend.std > 1.25

    ours = log_mel(audio, frontend)
    assert ours.shape == reference.shape == (frontend.n_mels, 1 + len(audio) // frontend.hop_length)
    assert np.abs(ours - reference).max() < 1e-3

    layer_output = as_numpy(LogMelSpectrogram(name)(audio[None]))
    assert layer_output.shape == (1, 1) + reference.shape
    assert np.abs(layer_output[0, 0] - reference).max() < 1e-3

    # the backend-agnostic keras.ops path gives the same numbers
    generic = as_numpy(LogMelSpectrogram(name)._call_keras_ops(audio[None]))
    assert np.abs(generic[0, 0] - reference).max() < 1e-3


def test_batch_matches_single_clips_and_zero_padding_is_exact():
    frontend = FRONTENDS["compact"]
    long, short = chirp_and_noise(16000, 1.5, seed=1), chirp_and_noise(16000, 0.9, seed=2)
    batch = np.zeros((2, len(long)), dtype=np.float32)
    batch[0], batch[1, : len(short)] = long, short
    together = log_mel(batch, frontend)
    np.testing.assert_allclose(together[0], log_mel(long, frontend), atol=1e-5)
    frames = frontend.n_frames(len(short))
    np.testing.assert_allclose(together[1, :, :frames], log_mel(short, frontend), atol=1e-5)


@pytest.mark.parametrize("samples", [1, 511, 512, 48000, 48001])
def test_frame_count(samples):
    layer = LogMelSpectrogram("compact")
    output = layer(np.zeros((3, samples), dtype=np.float32))
    assert tuple(output.shape) == (3, 1, 64, 1 + samples // 512)
    assert layer.compute_output_shape((None, samples)) == (None, 1, 64, 1 + samples // 512)
    # silence maps to the documented padding value
    np.testing.assert_allclose(as_numpy(output), FRONTENDS["compact"].silence_value, atol=1e-6)


def test_layer_in_functional_model_and_serialization_round_trip(tmp_path):
    custom = dataclasses.replace(FRONTENDS["compact"], n_mels=40, f_min=30.0, f_max=7000.0)
    layer = LogMelSpectrogram(custom, check_finite=False, name="frontend")
    assert not layer.trainable and layer.weights == []

    clone = LogMelSpectrogram.from_config(layer.get_config())
    assert clone.settings == custom and clone.check_finite is False and clone.name == "frontend"
    json.dumps(layer.get_config())  # the config is plain JSON

    inputs = keras.Input((16000,))
    model = keras.Model(inputs, layer(inputs))
    assert model.output.shape == (None, 1, 40, 32)
    model.save(tmp_path / "frontend.keras")
    restored = keras.saving.load_model(tmp_path / "frontend.keras")
    audio = chirp_and_noise(16000, 1.0)[None]
    np.testing.assert_allclose(as_numpy(restored(audio)),
                               as_numpy(model(audio)), atol=1e-6)


def test_bad_audio_raises_clear_errors():
    layer = LogMelSpectrogram("compact")
    audio = chirp_and_noise(16000, 0.5)
    with pytest.raises(ValueError, match=r"\(batch, samples\).*audio\[None\]"):
        layer(audio)
    with pytest.raises(ValueError, match=r"\(batch, samples\)"):
        layer(np.zeros((2, 100, 2), dtype=np.float32))
    broken = audio.copy()
    broken[100] = np.nan
    with pytest.raises(ValueError, match="NaN.*Fix"):
        layer(broken[None])
    with pytest.raises(ValueError, match="NaN.*Fix"):
        log_mel(broken, "compact")
    with pytest.raises(ValueError, match="unknown front-end 'tiny'"):
        LogMelSpectrogram("tiny")
    with pytest.raises(ValueError, match="f_max"):
        dataclasses.replace(FRONTENDS["compact"], f_max=9000.0)


# ---------------------------------------------------------------------------------------------- cache
def test_compute_features_in_memory_matches_log_mel():
    corpus = tiny_corpus()
    store = compute_features(corpus, "compact", progress=False)
    assert store.values.dtype == np.float16 and len(store) == 4
    expected_lengths = [1 + len(corpus.audio(i)) // 512 for i in range(4)]
    np.testing.assert_array_equal(store.lengths, expected_lengths)
    for index in range(4):
        np.testing.assert_allclose(store.track(index), log_mel(corpus.audio(index), "compact"), atol=2e-2)
    # batching tracks together (zero-padded) gives the same features as one track at a time
    one_by_one = compute_features(corpus, "compact", progress=False, batch_seconds=0.1)
    np.testing.assert_array_equal(one_by_one.values, store.values)


def test_sample_rate_mismatch_names_both_rates():
    with pytest.raises(ValueError, match="16000 Hz.*22050 Hz.*Fix"):
        compute_features(tiny_corpus(), "paper", progress=False)


@pytest.fixture()
def disk_corpus(tmp_path):
    return tiny_corpus().save(tmp_path / "corpus")


def count_computations(monkeypatch):
    calls = []
    original = features._compute_values

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(features, "_compute_values", counting)
    return calls


def test_cache_hit_does_not_recompute(disk_corpus, monkeypatch):
    uncached = compute_features(disk_corpus, "compact", cache_dir=False, progress=False)
    monkeypatch.setattr(features, "_CHUNK_ROWS", 37)  # write and checksum in chunks that straddle tracks
    calls = count_computations(monkeypatch)
    first = compute_features(disk_corpus, "compact", progress=False)
    np.testing.assert_array_equal(np.asarray(first.values), uncached.values)
    key = features.feature_key(disk_corpus, "compact")
    folder = disk_corpus.root / "features" / key
    assert {p.name for p in folder.iterdir()} == {"values.npy", "offsets.npy", "meta.json"}
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temporary left behind
    second = compute_features(disk_corpus, "compact", progress=False)
    assert len(calls) == 1
    assert isinstance(second.values, np.memmap)
    np.testing.assert_array_equal(np.asarray(first.values), np.asarray(second.values))
    np.testing.assert_array_equal(first.offsets, second.offsets)


def test_corrupt_values_are_rebuilt(disk_corpus, monkeypatch):
    calls = count_computations(monkeypatch)
    good = np.array(compute_features(disk_corpus, "compact", progress=False).values)
    values_path = disk_corpus.root / "features" / features.feature_key(disk_corpus, "compact") / "values.npy"
    raw = bytearray(values_path.read_bytes())
    raw[-200:-100] = b"\xff" * 100  # NaN bit patterns in float16, same file size
    values_path.write_bytes(bytes(raw))
    with pytest.warns(UserWarning, match="checksum"):
        rebuilt = compute_features(disk_corpus, "compact", progress=False)
    assert len(calls) == 2
    np.testing.assert_array_equal(np.asarray(rebuilt.values), good)

    values_path.write_bytes(values_path.read_bytes()[:1000])  # truncated file
    with pytest.warns(UserWarning, match="rebuilding"):
        compute_features(disk_corpus, "compact", progress=False)
    assert len(calls) == 3


def test_stale_or_unreadable_cache_is_rebuilt(disk_corpus, tmp_path, monkeypatch):
    calls = count_computations(monkeypatch)
    folder = tmp_path / "cache"
    compute_features(disk_corpus, "compact", cache_dir=folder, progress=False)
    # other settings, same folder: the key differs, so the cache must not be used
    narrow = dataclasses.replace(FRONTENDS["compact"], n_mels=32)
    with pytest.warns(UserWarning, match="key"):
        store = compute_features(disk_corpus, narrow, cache_dir=folder, progress=False)
    assert store.n_mels == 32 and len(calls) == 2
    assert json.loads((folder / "meta.json").read_text())["n_mels"] == 32

    (folder / "meta.json").write_text("{not json")
    with pytest.warns(UserWarning, match="JSON"):
        compute_features(disk_corpus, narrow, cache_dir=folder, progress=False)
    assert len(calls) == 3

    np.save(folder / "offsets.npy", np.array([0, 5, 3, 200, 250], dtype=np.int64))
    with pytest.raises(features.FeatureCacheError, match="offsets"):
        FeatureStore.load(folder)


# ---------------------------------------------------------------------------------------------- excerpts
def test_random_starts_are_valid_uniform_and_reproducible():
    lengths = np.array([94, 100, 300, 50])
    starts = random_excerpt_starts(np.repeat(lengths, 2000), 94, rng=0)
    per_track = starts.reshape(4, 2000)
    assert (per_track[0] == 0).all() and (per_track[3] == 0).all()  # no room, or shorter than an excerpt
    assert per_track[1].min() == 0 and per_track[1].max() == 6
    assert np.bincount(per_track[1], minlength=7).min() > 200  # every start of 0..6 is drawn (~286 each)
    assert per_track[2].max() <= 206
    np.testing.assert_array_equal(starts, random_excerpt_starts(np.repeat(lengths, 2000), 94, rng=0))


def test_fixed_starts_are_centered_and_evenly_spaced():
    lengths = np.array([194, 94, 20])
    np.testing.assert_array_equal(fixed_excerpt_starts(lengths, 94), [[50], [0], [0]])
    spread = fixed_excerpt_starts(lengths, 94, per_track=4)
    assert spread.shape == (3, 4)
    np.testing.assert_array_equal(spread[0], [13, 38, 63, 88])
    assert (spread[1:] == 0).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=1, max_size=20), st.integers(1, 150), st.integers(1, 5))
def test_starts_always_leave_room_for_the_excerpt(lengths, n_frames, per_track):
    lengths = np.array(lengths)
    room = np.maximum(lengths - n_frames, 0)
    random_starts = random_excerpt_starts(lengths, n_frames, rng=np.random.default_rng(3))
    fixed = fixed_excerpt_starts(lengths, n_frames, per_track)
    assert ((random_starts >= 0) & (random_starts <= room)).all()
    assert ((fixed >= 0) & (fixed <= room[:, None])).all()
    assert (np.diff(fixed, axis=1) >= 0).all()


def test_batch_gathers_excerpts_and_pads_short_tracks():
    frontend = FRONTENDS["compact"]
    rng = np.random.default_rng(0)
    lengths = np.array([120, 50, 94, 300])
    values = rng.standard_normal((lengths.sum(), frontend.n_mels)).astype(np.float16)
    store = FeatureStore(values, np.concatenate([[0], np.cumsum(lengths)]), frontend)
    indices = np.array([3, 1, 0, 2, 3])
    starts = random_excerpt_starts(store.lengths[indices], 94, rng)
    batch = store.batch(indices, starts, 94)
    assert batch.shape == (5, 1, 64, 94) and batch.dtype == np.float32
    for row, (index, start) in enumerate(zip(indices, starts, strict=True)):
        np.testing.assert_array_equal(batch[row, 0], store.excerpt(index, start, 94))
    # track 1 (50 frames) is padded with the value of silence
    np.testing.assert_array_equal(batch[1, 0, :, :50], values[120:170].astype(np.float32).T)
    assert (batch[1, 0, :, 50:] == frontend.silence_value).all()
    with pytest.raises(IndexError, match="random_excerpt_starts"):
        store.batch([0], [27], 94)
    with pytest.raises(IndexError, match="track indices"):
        store.batch([4], [0], 94)
