"""Audio as users have it (mdrbench.audio), and feature extraction over it: real recordings at 22.05 kHz, a
stereo 44.1 kHz FLAC copy, MP3, bounded windows, undecodable files, resumable extraction."""

import json

import numpy as np
import pytest
import soundfile
import soxr

import mdrbench.audio as audio_module
import mdrbench.features as features
from mdrbench import CorpusError
from mdrbench.audio import AudioError, load_audio, probe_audio, probe_files, resample, window_bounds
from mdrbench.features import FRONTENDS, compute_features, log_mel
from mdrbench.sources import load_folder, load_real_music, real_music_dir

REAL = real_music_dir()
BRAHMS = REAL / "brahms_hungarian_dance_5.ogg"  # 45.8 s, 22,050 Hz mono
TRUMPET = REAL / "sorohan_solo_trumpet.ogg"  # 5.3 s


@pytest.fixture(scope="module")
def brahms_native():
    samples, rate = soundfile.read(BRAHMS, dtype="float32")
    assert rate == 22050 and samples.ndim == 1
    return samples


@pytest.fixture(scope="module")
def stereo_flac(tmp_path_factory, brahms_native):
    """The first 12 s of Brahms at 44.1 kHz in two identical channels: mean of channels = the original."""
    upsampled = soxr.resample(brahms_native[: 12 * 22050], 22050, 44100)
    path = tmp_path_factory.mktemp("stereo") / "brahms_stereo.flac"
    soundfile.write(path, np.stack([upsampled, upsampled], axis=1), 44100, subtype="PCM_24")
    return path


def test_shipped_recordings_and_credits():
    files = sorted(p.name for p in REAL.glob("*.ogg"))
    assert len(files) == 5 and (REAL / "CREDITS.md").is_file()
    credits = (REAL / "CREDITS.md").read_text()
    assert all(name in credits for name in files)
    probes = probe_files(sorted(REAL.glob("*.ogg")))
    assert (probes["sample_rate"] == 22050).all() and (probes["channels"] == 1).all()
    assert (probes["format"] == "OGG").all() and (probes["error"] == "").all()
    assert 6.0 * 60 < probes["duration"].sum() < 6.2 * 60  # 6.1 minutes (CREDITS.md says 8.4)


def test_probe_reads_the_header_only():
    info = probe_audio(BRAHMS)
    assert info == {"sample_rate": 22050, "channels": 1, "frames": 1010880, "duration": 1010880 / 22050,
                    "format": "OGG"}


def test_native_rate_is_returned_unchanged(brahms_native):
    np.testing.assert_array_equal(load_audio(BRAHMS, 22050), brahms_native)


@pytest.mark.parametrize("target", [8000, 16000, 48000])
def test_resampled_length_is_the_exact_ratio(brahms_native, target):
    resampled = load_audio(BRAHMS, target, max_seconds=5)
    assert resampled.dtype == np.float32
    assert len(resampled) == round(5 * 22050 * target / 22050) == 5 * target
    # soxr keeps the band below both Nyquists: resampling back gives the original (in the interior)
    start, stop = window_bounds(len(brahms_native), 22050, 5)
    back = resample(resampled, target, 22050)
    original = brahms_native[start:stop]
    interior = slice(2000, -2000)
    if target >= 16000:
        assert np.abs(back[interior] - original[interior]).max() < 0.02
    assert np.corrcoef(back[interior], original[interior])[0, 1] > 0.98


def test_stereo_44k_flac_mixes_down_to_the_mono_original(stereo_flac, brahms_native):
    assert probe_audio(stereo_flac)["channels"] == 2 and probe_audio(stereo_flac)["sample_rate"] == 44100
    mono = load_audio(stereo_flac, 22050)
    assert mono.shape == (12 * 22050,)
    original = brahms_native[: 12 * 22050]
    error = mono[1000:-1000] - original[1000:-1000]  # two soxr passes: only the band edge near 11 kHz differs
    assert np.abs(error).max() < 5e-3 and np.sqrt(np.mean(error**2)) < 0.01 * np.sqrt(np.mean(original**2))
    # at the compact front-end's rate, the copy's features are the original's
    copy_features = log_mel(load_audio(stereo_flac, 16000), "compact")
    original_features = log_mel(resample(original, 22050, 16000), "compact")
    assert copy_features.shape == original_features.shape == (64, 1 + 12 * 16000 // 512)
    assert np.abs(copy_features[:, 2:-2] - original_features[:, 2:-2]).max() < 0.02


def test_only_the_window_is_read(monkeypatch, brahms_native):
    calls = []
    real_read = soundfile.read

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_read(*args, **kwargs)

    monkeypatch.setattr(soundfile, "read", spy)
    window = load_audio(BRAHMS, 22050, max_seconds=10)
    start = (len(brahms_native) - 10 * 22050) // 2
    assert calls[-1]["start"] == start and calls[-1]["frames"] == 10 * 22050
    np.testing.assert_array_equal(window, brahms_native[start:start + 10 * 22050])

    first, where = load_audio(BRAHMS, 22050, max_seconds=10, offset="start", return_start=True)
    np.testing.assert_array_equal(first, brahms_native[: 10 * 22050])
    assert where == 0.0
    late, where = load_audio(BRAHMS, 22050, max_seconds=10, offset=40.0, return_start=True)  # clipped: 35.8 s
    assert where == (len(brahms_native) - 10 * 22050) / 22050
    np.testing.assert_array_equal(late, brahms_native[-10 * 22050:])
    whole, where = load_audio(TRUMPET, 16000, max_seconds=30, return_start=True)  # shorter than the window
    assert where == 0.0 and len(whole) == round(117601 * 16000 / 22050)


def test_window_bounds():
    assert window_bounds(100, 10, None) == (0, 100)
    assert window_bounds(100, 10, 4) == (30, 70)
    assert window_bounds(101, 10, 4, "center") == (30, 70)
    assert window_bounds(100, 10, 4, "start") == (0, 40)
    assert window_bounds(100, 10, 4, 1.5) == (15, 55)
    assert window_bounds(100, 10, 4, 9.0) == (60, 100)
    assert window_bounds(30, 10, 4) == (0, 30)


def test_mp3_is_read_in_a_window(tmp_path, brahms_native):
    path = tmp_path / "brahms.mp3"
    soundfile.write(path, brahms_native[: 20 * 22050], 22050, format="MP3")
    info = probe_audio(path)
    assert info["format"] == "MP3" and info["sample_rate"] == 22050
    clip = load_audio(path, 16000, max_seconds=5, offset="start")
    assert clip.shape == (5 * 16000,)
    reference = resample(brahms_native[: 5 * 22050], 22050, 16000)
    # MP3 coding delays the signal by a few hundred samples: find the best lag, then compare
    lags = range(0, 2000, 1)
    scores = [np.dot(clip[lag:lag + 40000], reference[: 40000]) for lag in lags]
    best = int(np.argmax(scores))
    assert np.corrcoef(clip[best:best + 40000], reference[:40000])[0, 1] > 0.95


@pytest.mark.parametrize("content", [b"", b"this is not audio at all\n" * 40, bytes(range(256)) * 64])
@pytest.mark.parametrize("suffix", [".wav", ".mp3", ".flac"])
def test_undecodable_files_are_named_with_a_fix(tmp_path, content, suffix):
    path = tmp_path / f"broken{suffix}"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=rf"broken\{suffix}: .*Fix:") as error:
        load_audio(path, 16000)
    assert isinstance(error.value, CorpusError) and "\n" not in str(error.value)
    assert probe_files([path])["error"].iloc[0].startswith(str(path))


def test_missing_and_nan_audio(tmp_path):
    with pytest.raises(AudioError, match=r"nowhere\.wav: audio file missing.*Fix"):
        load_audio(tmp_path / "nowhere.wav", 16000)
    broken = np.zeros(800, np.float32)
    broken[3] = np.nan
    soundfile.write(tmp_path / "nan.wav", broken, 8000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        load_audio(tmp_path / "nan.wav", 16000)


@pytest.mark.parametrize("arguments, message", [
    ({"sample_rate": 0}, "sample_rate"), ({"sample_rate": 16000.5}, "sample_rate"),
    ({"max_seconds": -1}, "max_seconds"), ({"max_seconds": 0}, "max_seconds"),
    ({"offset": "middle"}, "offset"), ({"offset": float("nan")}, "offset"),
])
def test_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        load_audio(BRAHMS, **{"sample_rate": 16000, **arguments})


# ---------------------------------------------------------------------------------------------- features
def test_features_of_real_recordings_are_resampled_and_windowed():
    corpus = load_real_music()
    assert corpus.sample_rate == 22050 and corpus.mixed_rates
    store = compute_features(corpus, "compact", cache_dir=False, progress=False, max_seconds=10)
    for index, path in enumerate(corpus.audio_paths):
        native = probe_audio(REAL / path)["frames"]
        start, stop = window_bounds(native, 22050, 10)
        assert store.lengths[index] == 1 + round((stop - start) * 16000 / 22050) // 512
        assert store.window_starts[index] == pytest.approx(start / 22050)
        expected = log_mel(load_audio(REAL / path, 16000, max_seconds=10), "compact")
        np.testing.assert_allclose(store.track(index), expected, atol=2e-2)
    trumpet = list(corpus.track_ids).index("sorohan_solo_trumpet")
    assert store.window_starts[trumpet] == 0.0 and store.lengths[trumpet] < store.lengths.max()
    # the default keeps 30 s: a bounded cache however long the tracks are
    assert compute_features(corpus, "compact", cache_dir=False, progress=False).lengths.max() == 1 + 30 * 16000 // 512


def test_mixed_rates_and_channels_in_one_folder(tmp_path, stereo_flac, brahms_native):
    folder = tmp_path / "music"
    folder.mkdir()
    clip = brahms_native[: 12 * 22050]
    with soundfile.SoundFile(folder / "mono22.ogg", "w", 22050, 1, format="OGG") as ogg:
        for begin in range(0, len(clip), 22050):  # libsndfile 1.2's Vorbis encoder can crash on one long write
            ogg.write(clip[begin:begin + 22050])
    (folder / "stereo44.flac").write_bytes(stereo_flac.read_bytes())
    soundfile.write(folder / "mono48.wav", soxr.resample(clip, 22050, 48000), 48000)
    (tmp_path / "tags.csv").write_text("track_id,tags,split\nmono22,classical,train\nstereo44,classical,valid\n"
                                       "mono48,classical,test\n")
    corpus = load_folder(folder, tmp_path / "tags.csv", REAL / "vocabulary.csv")
    assert corpus.info["source"]["rates"] == {"22050": 1, "44100": 1, "48000": 1}
    assert corpus.info["source"]["channels"] == {"1": 2, "2": 1}
    np.testing.assert_allclose(corpus.durations, 12.0, atol=1e-3)
    for index in range(3):
        assert corpus.audio(index).shape == (12 * corpus.sample_rate,)
    store = compute_features(corpus, "compact", cache_dir=tmp_path / "cache", progress=False)
    assert (store.lengths == 1 + 12 * 16000 // 512).all()
    # the same music at three rates and two channel layouts gives the same features (Vorbis coding aside)
    for index in (1, 2):
        assert np.abs(store.track(index)[:, 2:-2] - store.track(0)[:, 2:-2]).mean() < 0.05
    # saved and loaded back, the folder corpus keeps its mixed rates (corpus.json says so)
    saved = corpus.save(tmp_path / "saved")
    assert sorted(p.suffix for p in (tmp_path / "saved" / "audio").iterdir()) == [".flac", ".ogg", ".wav"]
    assert type(saved).load(tmp_path / "saved").mixed_rates


def test_extraction_resumes_after_a_kill(tmp_path, monkeypatch):
    corpus = load_real_music()
    reference = compute_features(corpus, "compact", cache_dir=False, progress=False, max_seconds=4)
    monkeypatch.setattr(features, "_PART_ROWS", 1)  # every track closes a part
    loaded = []
    real_load = audio_module.load_audio

    def killed_at_60_percent(path, *args, **kwargs):
        if len(loaded) == 3:
            raise KeyboardInterrupt  # as if the run were killed at track 4 of 5
        loaded.append(path.name)
        return real_load(path, *args, **kwargs)

    monkeypatch.setattr(audio_module, "load_audio", killed_at_60_percent)
    cache = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        compute_features(corpus, "compact", cache_dir=cache, progress=False, max_seconds=4)
    partial = tmp_path / ".cache.partial"
    assert not cache.exists() and len(list(partial.glob("part-*.json"))) == 3

    loaded.clear()
    monkeypatch.setattr(audio_module, "load_audio", lambda path, *a, **k: loaded.append(path.name) or
                        real_load(path, *a, **k))
    store = compute_features(corpus, "compact", cache_dir=cache, progress=False, max_seconds=4)
    assert loaded == [corpus.audio_paths[3], corpus.audio_paths[4]]  # only the rest is computed
    np.testing.assert_array_equal(np.asarray(store.values), reference.values)
    np.testing.assert_array_equal(store.offsets, reference.offsets)
    np.testing.assert_allclose(store.window_starts, reference.window_starts, atol=1e-6)
    assert not partial.exists()


def test_a_corrupt_part_is_recomputed(tmp_path, monkeypatch):
    corpus = load_real_music().subset([0, 1, 2])
    monkeypatch.setattr(features, "_PART_ROWS", 1)
    key = features.feature_key(corpus, "compact", 3)
    parts = features._PartFolder(tmp_path / ".cache.partial", key, 64)
    extraction = features._compute_values(corpus, FRONTENDS["compact"], False, 30.0, None, max_seconds=3,
                                           parts=parts)
    assert len(extraction.lengths) == 3
    second = tmp_path / ".cache.partial" / "part-00000001.npy"
    raw = bytearray(second.read_bytes())
    raw[-10:] = b"\x00" * 10
    second.write_bytes(bytes(raw))
    resumed = parts.resume()
    assert [record["first"] for record in resumed] == [0]  # the corrupt part and everything after it go
    assert sorted(p.name for p in (tmp_path / ".cache.partial").iterdir()) == ["part-00000000.json",
                                                                               "part-00000000.npy"]


def test_skip_errors_lists_undecodable_files_and_keeps_the_rest(tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    for path in sorted(REAL.glob("*.ogg"))[:3]:
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "garbage.mp3").write_bytes(b"not audio" * 100)
    rows = "".join(f"{p.stem},jazz\n" for p in sorted(folder.glob("*.*")))
    (tmp_path / "tags.csv").write_text("track_id,tags\n" + rows)
    with pytest.raises(CorpusError, match=r"1 of 4 audio files .*garbage\.mp3.*skip_errors=True"):
        load_folder(folder, tmp_path / "tags.csv", REAL / "vocabulary.csv")
    corpus = load_folder(folder, tmp_path / "tags.csv", REAL / "vocabulary.csv", skip_errors=True)
    assert len(corpus) == 3 and corpus.info["skipped"][0]["track_id"] == "garbage"

    # a file that breaks after import: extraction names it, or skips it with skip_errors=True
    clean = compute_features(corpus, "compact", cache_dir=False, progress=False, max_seconds=3)
    (folder / corpus.audio_paths[1]).write_bytes(b"\x00" * 4000)
    cache = tmp_path / "cache"
    with pytest.raises(AudioError, match=corpus.audio_paths[1]):
        compute_features(corpus, "compact", cache_dir=cache, progress=False, max_seconds=3)
    assert len(list((tmp_path / ".cache.partial").glob("part-*.json"))) == 1  # track 0 was kept
    with pytest.warns(UserWarning, match="1 track.*could not be decoded"):
        store = compute_features(corpus, "compact", cache_dir=cache, progress=False, max_seconds=3,
                                 skip_errors=True)
    assert [entry["index"] for entry in store.skipped] == [1]
    assert store.skipped[0]["path"] == corpus.audio_paths[1] and "Fix" in store.skipped[0]["error"]
    assert store.lengths[1] == 1
    for index in (0, 2):
        np.testing.assert_array_equal(store.track(index), clean.track(index))
    assert json.loads((cache / "meta.json").read_text())["skipped"][0]["index"] == 1
    with pytest.raises(AudioError, match="skip_errors=True"):
        compute_features(corpus, "compact", cache_dir=cache, progress=False, max_seconds=3)


def test_in_memory_audio_must_match_the_front_end():
    everything = load_real_music()
    corpus = everything.subset([list(everything.track_ids).index("sorohan_solo_trumpet")])
    in_memory = type(corpus)(track_ids=corpus.track_ids, sample_rate=22050, durations=corpus.durations,
                             vocabulary=corpus.vocabulary, tags=corpus.tags, splits=corpus.splits,
                             _audio=[corpus.audio(0)])
    with pytest.raises(ValueError, match="22050 Hz.*16000 Hz.*Fix"):
        compute_features(in_memory, "compact", progress=False)
    assert compute_features(in_memory, "paper", progress=False).lengths[0] == 1 + 117601 // 512
