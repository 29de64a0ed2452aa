"""The command line: every verb end to end on real recordings, and wrong arguments for each: a one-line error
naming the problem and the fix, exit status 2, never a traceback."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr

from mdrbench.cli import main
from mdrbench.sources import real_music_dir

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_corpus_info_on_missing_folder(capsys, tmp_path):
    code, _, err = run(capsys, "corpus", "info", str(tmp_path / "nope"))
    assert code == 2
    assert "no such corpus folder" in err and "mdrbench corpus synth" in err


def test_synth_refuses_a_non_empty_folder(capsys, tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "file").write_text("keep me")
    code, _, err = run(capsys, "corpus", "synth", "--size", "ci", "--out", str(tmp_path / "x"))
    assert code == 2 and "not empty" in err
    assert (tmp_path / "x" / "file").read_text() == "keep me"


def test_unknown_size_is_rejected_by_argparse(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["corpus", "synth", "--size", "huge", "--out", "x"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'huge'" in capsys.readouterr().err


def test_train_lists_configs_and_rejects_unknown(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "--list")
    assert code == 0 and "triplet-track-norm-dis" in out and out.count("\n") == 8
    code, _, err = run(capsys, "train", "triplet-raw-dis", "--out", str(tmp_path))
    assert code == 2 and "proxy-norm-dis" in err


def test_bench_needs_a_seed(capsys, tmp_path):
    code, _, err = run(capsys, "bench", "--size", "ci", "--seeds", "0", "--out", str(tmp_path))
    assert code == 2 and "--seeds must be at least 1" in err


def test_report_needs_runs(capsys, tmp_path):
    code, _, err = run(capsys, "report", str(tmp_path))
    assert code == 2 and "no runs/ folder" in err


def test_the_reference_results_are_checked_and_never_written_to(capsys, tmp_path):
    from mdrbench.reference import reference_folder

    code, out, _ = run(capsys, "reference")
    assert code == 0 and "checks out" in out and "precision: bf16" in out and "wall_seconds" in out
    bundle = reference_folder("default")
    code, _, err = run(capsys, "report", str(bundle), "--out", str(bundle / "report"))
    assert code == 2 and "read-only" in err and "--out another folder" in err
    code, _, err = run(capsys, "reference", "--from", str(tmp_path))
    assert code == 2 and "no benchmark.json" in err


def test_search_errors_and_results(capsys, tmp_path):
    code, _, err = run(capsys, "search", str(tmp_path), "--query", "a")
    assert code == 2 and "test_embeddings.npy is missing" in err
    rng = np.random.default_rng(0)
    np.save(tmp_path / "test_embeddings.npy", rng.standard_normal((5, 8)).astype(np.float32))
    np.save(tmp_path / "test_track_ids.npy", np.array([f"t{i}" for i in range(5)]))
    np.save(tmp_path / "test_tag_scores.npy", rng.random((5, 2)).astype(np.float32))
    (tmp_path / "vocabulary.csv").write_text("tag,category\nrock,genre\nsad,mood\n")
    code, out, _ = run(capsys, "search", str(tmp_path), "--query", "t0", "-k", "2", "--subspace", "mood")
    assert code == 0 and len(out.splitlines()) == 3 and "t0 " not in out.split(":", 1)[1]
    code, _, err = run(capsys, "search", str(tmp_path), "--query", "zz")
    assert code == 2 and "'zz' is not in the run's 5 test tracks" in err
    code, _, err = run(capsys, "search", str(tmp_path), "--query", "t0", "--subspace", "tempo")
    assert code == 2 and "unknown sub-space 'tempo'" in err
    code, out, _ = run(capsys, "search", str(tmp_path), "--tag", "sad", "-k", "3")
    assert code == 0 and out.count("score") == 3
    code, _, err = run(capsys, "search", str(tmp_path), "--tag", "polka")
    assert code == 2 and "unknown tag 'polka'" in err


def assert_one_line_error(code, err, *fragments):
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.startswith("mdrbench: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ----------------------------------------------------------------------------------- real recordings, imported
CLIP_SPLITS = ["train"] * 3 + ["valid"] + ["test"] * 4  # with the 5 whole recordings: 9 test tracks (R@8 needs 9)
LONG_TRACKS = ["brahms_hungarian_dance_5", "hobbs_lets_go_fishin", "macleod_vibe_ace", "macleod_sugar_plum_fairy"]
DIMSIM_REAL = Path(__file__).parent / "fixtures" / "dimsim_real_music.csv"  # the real Dim-Sim CSV's schema


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """The five shipped recordings (test split, ids unchanged, so the Dim-Sim fixture resolves) and eight
    eight-second clips of them (WAV at 22.05 kHz mono; two FLAC at 44.1 kHz stereo), imported with
    `mdrbench corpus import`: 3 train, 1 valid, 9 test tracks."""
    folder = tmp_path_factory.mktemp("clips")
    audio_dir = folder / "audio"
    audio_dir.mkdir()
    source = real_music_dir()
    tags = dict(line.split(",")[:2] for line in (source / "tags.csv").read_text().splitlines()[1:])
    rows = ["track_id,tags,split"] + [f"{name},{tag},test" for name, tag in tags.items()]
    for name in tags:
        shutil.copyfile(source / f"{name}.ogg", audio_dir / f"{name}.ogg")
    for index, split in enumerate(CLIP_SPLITS):
        name, part = LONG_TRACKS[index % 4], index // 4
        audio, rate = soundfile.read(source / f"{name}.ogg", dtype="float32")
        clip = audio[(2 + 9 * part) * rate:(10 + 9 * part) * rate]
        if index % 4 == 3:
            stereo = np.repeat(soxr.resample(clip, rate, 44100)[:, None], 2, axis=1)
            soundfile.write(audio_dir / f"{name}_{part}.flac", stereo, 44100)
        else:
            soundfile.write(audio_dir / f"{name}_{part}.wav", clip, rate)
        rows.append(f"{name}_{part},{tags[name]},{split}")
    (folder / "tags.csv").write_text("\n".join(rows) + "\n")
    code = main(["corpus", "import", str(audio_dir), "--tags", str(folder / "tags.csv"), "--vocabulary",
                 str(source / "vocabulary.csv"), "--out", str(folder / "corpus")])
    assert code == 0
    return folder


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """The five shipped recordings copied to a new folder and imported (splits 3/1/1)."""
    folder = tmp_path_factory.mktemp("shipped")
    shutil.copytree(real_music_dir(), folder / "music")
    code = main(["corpus", "import", str(folder / "music"), "--tags", str(folder / "music" / "tags.csv"),
                 "--vocabulary", str(folder / "music" / "vocabulary.csv"), "--out", str(folder / "corpus")])
    assert code == 0
    return folder


@pytest.fixture(scope="module")
def trained(clips, tmp_path_factory):
    """`mdrbench train` on the imported clips, one epoch."""
    run = tmp_path_factory.mktemp("run") / "proxy"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MDRBENCH_HOME", str(tmp_path_factory.mktemp("home")))
        code = main(["train", "proxy-norm-dis", "--corpus", str(clips / "corpus"), "--size", "ci", "--max-epochs", "1",
                     "--out", str(run)])
    assert code == 0
    return run


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MDRBENCH_HOME", str(tmp_path / "home"))


def test_import_and_check(capsys, clips, tmp_path):
    code, out, err = run(capsys, "corpus", "check", str(clips / "corpus"))
    assert code == 0, err
    assert "13 tracks" in out and "splits: train 3, valid 1, test 9" in out and "no problems found" in out
    assert "rates 22050 x11, 44100 x2 Hz" in out and "channels 1 x11, 2 x2" in out
    assert "formats WAV x6, OGG x5, FLAC x2" in out
    assert not any((clips / "corpus").glob("**/*.wav"))  # referenced in place, nothing copied
    code, out, _ = run(capsys, "corpus", "info", str(clips / "corpus"))
    assert code == 0 and "classical" in out


def test_import_wrong_arguments(capsys, shipped, tmp_path):
    music = shipped / "music"
    base = ["corpus", "import", str(music), "--tags", str(music / "tags.csv")]
    code, _, err = run(capsys, *base, "--vocabulary", "msd51", "--out", str(tmp_path / "a"))
    assert_one_line_error(code, err, "msd51: vocabulary file not found", "tag,category", "msd50")
    code, _, err = run(capsys, *base, "--vocabulary", "msd50", "--out", str(tmp_path / "a"))
    assert_one_line_error(code, err, "tags.csv", "'classical' is not in the vocabulary", "Fix")
    (tmp_path / "afile").write_text("x")
    code, _, err = run(capsys, *base, "--vocabulary", str(music / "vocabulary.csv"), "--out", str(tmp_path / "afile"))
    assert_one_line_error(code, err, "afile is an existing file", "choose a new --out")
    code, _, err = run(capsys, *base, "--vocabulary", str(music / "vocabulary.csv"), "--out", str(shipped / "corpus"))
    assert_one_line_error(code, err, "not empty")
    code, _, err = run(capsys, "corpus", "import", str(music), "--tags", str(tmp_path / "none.csv"), "--vocabulary",
                       "msd50", "--out", str(tmp_path / "b"))
    assert_one_line_error(code, err, "none.csv: tag table not found")
    (tmp_path / "notags.csv").write_text("id,tags\nx,rock\n")
    code, _, err = run(capsys, "corpus", "import", str(music), "--tags", str(tmp_path / "notags.csv"), "--vocabulary",
                       "msd50", "--out", str(tmp_path / "b"))
    assert_one_line_error(code, err, "notags.csv: needs a track_id column")
    (tmp_path / "missing.csv").write_text("track_id,tags\nmacleod_vibe_ace,jazz\nnot_there,jazz\n")
    code, _, err = run(capsys, "corpus", "import", str(music), "--tags", str(tmp_path / "missing.csv"),
                       "--vocabulary", str(music / "vocabulary.csv"), "--out", str(tmp_path / "b"))
    assert_one_line_error(code, err, "no audio file for track 'not_there'")
    assert not (tmp_path / "b").exists()


def test_import_skip_errors_and_jamendo(capsys, tmp_path):
    music = tmp_path / "music"
    shutil.copytree(real_music_dir(), music)
    (music / "hobbs_lets_go_fishin.ogg").write_bytes(b"garbage")
    args = ["corpus", "import", str(music), "--tags", str(music / "tags.csv"), "--vocabulary",
            str(music / "vocabulary.csv")]
    code, _, err = run(capsys, *args, "--out", str(tmp_path / "a"))
    assert_one_line_error(code, err, "hobbs_lets_go_fishin.ogg: cannot be read as audio", "skip")
    code, out, err = run(capsys, *args, "--out", str(tmp_path / "a"), "--skip-errors")
    assert code == 0, err
    assert "4 tracks" in out and "skipped hobbs_lets_go_fishin:" in out
    (music / "jamendo.csv").write_text("track_id,tags,split\nmacleod_vibe_ace,genre---jazz;genre---90s,train\n"
                                       "brahms_hungarian_dance_5,genre---classical;mood/theme---sad,valid\n"
                                       "macleod_sugar_plum_fairy,genre---classical;instrument---orchestra,test\n")
    code, out, err = run(capsys, "corpus", "import", str(music), "--tags", str(music / "jamendo.csv"),
                         "--vocabulary", "jamendo", "--out", str(tmp_path / "jam"))
    assert code == 0, err
    assert "jamendo, derived from the tag table (5 tags: 2 genre, 1 mood, 1 instrument, 1 era)" in out


def test_check_reports_problems_with_exit_status_2(capsys, shipped, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(shipped / "corpus", broken)
    tracks = (broken / "tracks.csv").read_text()
    tracks = tracks.replace("macleod_vibe_ace.ogg", "gone.ogg").replace(",test\n", ",train\n")
    (broken / "tracks.csv").write_text(tracks)
    code, out, err = run(capsys, "corpus", "check", str(broken))
    assert_one_line_error(code, err, "2 problem(s), listed above")
    assert "1 of 5 audio files missing" in out and "gone.ogg" in out and "split 'test' is empty" in out
    code, _, err = run(capsys, "corpus", "check", str(tmp_path / "nowhere"))
    assert_one_line_error(code, err, "1 problem(s)")


def test_train_and_bench_on_imported_corpora(capsys, clips, shipped, tmp_path):
    out = tmp_path / "bench"
    code, stdout, err = run(capsys, "bench", "--corpus", str(clips / "corpus"), "--size", "ci", "--configs",
                            "proxy-norm-dis", "--seeds", "1", "--max-epochs", "1", "--dimsim", str(DIMSIM_REAL),
                            "--out", str(out))
    assert code == 0, err
    assert "| proxy-norm-dis |" in stdout and (out / "report.md").exists()
    assert "5 of 6 triplets have their three tracks in the corpus (1 left out); 4 decided" in stdout
    result = json.loads((out / "runs" / "proxy-norm-dis" / "seed0" / "result.json").read_text())
    assert result["human_source"] == "Dim-Sim" and 0 <= result["human_triplet_accuracy"] <= 1
    assert "Dim-Sim" in (out / "report.md").read_text()
    # report: an unreadable result.json is named, and `bench` will redo it
    (out / "runs" / "proxy-norm-dis" / "seed0" / "result.json").write_text("{broken")
    code, stdout, err = run(capsys, "report", str(out))
    assert code == 0
    assert "seed0/result.json is unreadable" in err and "`mdrbench bench` will redo this run" in err
    assert "1 unreadable" in stdout
    # Dim-Sim files that cannot be used
    bench = ["bench", "--corpus", str(clips / "corpus"), "--size", "ci", "--configs", "proxy-norm-dis", "--seeds", "1",
             "--out", str(tmp_path / "b1")]
    code, _, err = run(capsys, *bench, "--dimsim", str(tmp_path / "none.csv"))
    assert_one_line_error(code, err, "none.csv: no such triplet file", "Zenodo")
    lines = DIMSIM_REAL.read_text().splitlines()
    (tmp_path / "msd_only.csv").write_text("\n".join([lines[0], lines[-1]]) + "\n")
    code, _, err = run(capsys, *bench, "--dimsim", str(tmp_path / "msd_only.csv"))
    assert_one_line_error(code, err, "none of its 1 triplets has all three tracks in corpus", "Fix")
    code, _, err = run(capsys, "bench", "--size", "ci", "--dimsim", str(DIMSIM_REAL), "--out", str(tmp_path / "b1"))
    assert_one_line_error(code, err, "--dimsim needs --corpus")
    # too few test tracks for the evaluation: a clear error before any work
    code, _, err = run(capsys, "bench", "--corpus", str(shipped / "corpus"), "--size", "ci", "--configs",
                       "proxy-norm-dis", "--seeds", "1", "--out", str(tmp_path / "b2"))
    assert_one_line_error(code, err, "the 'test' split has 1 track", "needs at least 9", "Fix")
    assert not (tmp_path / "b2").exists()
    # a triplet model needs a tag shared by two training tracks: the error says which corpus and splits
    code, _, err = run(capsys, "train", "triplet-norm-dis", "--corpus", str(shipped / "corpus"), "--size", "ci",
                       "--max-epochs", "1", "--out", str(tmp_path / "t"))
    assert_one_line_error(code, err, "cannot train triplet-norm-dis on corpus 'music' (train 3, valid 1, test 1)")


def test_train_wrong_arguments(capsys, shipped, tmp_path):
    (tmp_path / "afile").write_text("x")
    code, _, err = run(capsys, "train", "proxy-norm-dis", "--corpus", str(shipped / "corpus"), "--out",
                       str(tmp_path / "afile"))
    assert_one_line_error(code, err, "is an existing file")
    code, _, err = run(capsys, "train", "proxy-norm-dis", "--corpus", str(tmp_path / "none"), "--out",
                       str(tmp_path / "r"))
    assert_one_line_error(code, err, "no such corpus folder")
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "proxy-norm-dis", "--max-epochs", "0", "--out", str(tmp_path / "r")])
    assert exit_info.value.code == 2 and "must be at least 1" in capsys.readouterr().err


def test_embed_a_corpus_and_audio_files(capsys, trained, shipped, tmp_path):
    out = tmp_path / "real.npz"
    code, stdout, err = run(capsys, "embed", str(trained), "--corpus", str(shipped / "corpus"), "--out", str(out))
    assert code == 0, err
    assert "embedded 5 tracks" in stdout and "22050 Hz x5 resampled to 16000 Hz" in stdout
    with np.load(out, allow_pickle=False) as data:
        assert data["embeddings"].shape == (5, 256) and data["tag_scores"].shape == (5, 11)
        assert len(data["track_ids"]) == 5 and list(data["tags"])[:2] == ["classical", "jazz"]
    files = sorted((shipped / "music").glob("*.ogg"))[:2]
    code, stdout, err = run(capsys, "embed", str(trained), "--audio", *map(str, files), "--out",
                            str(tmp_path / "f.npz"))
    assert code == 0, err
    with np.load(tmp_path / "f.npz", allow_pickle=False) as data:
        assert list(data["track_ids"]) == [f.stem for f in files]
        loose = data["embeddings"]
    with np.load(out, allow_pickle=False) as data:
        ids = list(data["track_ids"])
        np.testing.assert_allclose(loose, data["embeddings"][[ids.index(f.stem) for f in files]], atol=1e-4)


def test_embed_wrong_arguments(capsys, trained, shipped, tmp_path):
    corpus = str(shipped / "corpus")
    code, _, err = run(capsys, "embed", str(trained), "--corpus", corpus, "--out", str(tmp_path / "e.txt"))
    assert_one_line_error(code, err, "ending in .npz")
    code, _, err = run(capsys, "embed", str(tmp_path), "--corpus", corpus, "--out", str(tmp_path / "e.npz"))
    assert_one_line_error(code, err, "model.keras not found", "mdrbench train --out")
    code, _, err = run(capsys, "embed", str(trained), "--corpus", str(tmp_path / "nope"), "--out",
                       str(tmp_path / "e.npz"))
    assert_one_line_error(code, err, "no such corpus folder")
    code, _, err = run(capsys, "embed", str(trained), "--audio", str(tmp_path / "missing.wav"), "--out",
                       str(tmp_path / "e.npz"))
    assert_one_line_error(code, err, "missing.wav: audio file missing")
    (tmp_path / "bad.wav").write_bytes(b"RIFF nonsense")
    code, _, err = run(capsys, "embed", str(trained), "--audio", str(tmp_path / "bad.wav"), "--out",
                       str(tmp_path / "e.npz"))
    assert_one_line_error(code, err, "bad.wav: cannot be read as audio", "re-encode")
    assert not (tmp_path / "e.npz").exists()


def test_embed_skips_undecodable_files_only_when_asked(capsys, trained, tmp_path):
    music = tmp_path / "music"
    shutil.copytree(real_music_dir(), music)
    assert main(["corpus", "import", str(music), "--tags", str(music / "tags.csv"), "--vocabulary",
                 str(music / "vocabulary.csv"), "--out", str(tmp_path / "corpus")]) == 0
    (music / "hobbs_lets_go_fishin.ogg").write_bytes(b"broken since the import")
    capsys.readouterr()
    args = ["embed", str(trained), "--corpus", str(tmp_path / "corpus"), "--out", str(tmp_path / "e.npz")]
    code, _, err = run(capsys, *args)
    assert_one_line_error(code, err, "hobbs_lets_go_fishin.ogg: cannot be read as audio")
    with pytest.warns(UserWarning, match="could not be decoded"):
        code, out, err = run(capsys, *args, "--skip-errors")
    assert code == 0, err
    assert "left out 1 track(s) whose audio cannot be decoded: hobbs_lets_go_fishin" in out
    with np.load(tmp_path / "e.npz", allow_pickle=False) as data:
        assert len(data["track_ids"]) == 4 and "hobbs_lets_go_fishin" not in data["track_ids"]
    files = [str(music / "hobbs_lets_go_fishin.ogg"), str(music / "macleod_vibe_ace.ogg")]
    code, out, err = run(capsys, "embed", str(trained), "--audio", *files, "--out", str(tmp_path / "f.npz"),
                         "--skip-errors")
    assert code == 0, err
    assert "skipped: " in out and "embedded 1 tracks" in out


def test_search_by_example_by_tag_in_a_subspace_across_corpora(capsys, trained, shipped, tmp_path):
    corpus = str(shipped / "corpus")
    # the run's own test tracks (the clips), by example, in a sub-space
    code, out, err = run(capsys, "search", str(trained), "--query", "hobbs_lets_go_fishin_1", "-k", "3",
                         "--subspace", "instrument")
    assert code == 0, err
    assert "instrument sub-space" in out and out.count("  0.") + out.count("  1.0") >= 1
    hits = [line.split()[1] for line in out.splitlines()[1:]]
    assert len(hits) == 3 and "hobbs_lets_go_fishin_1" not in hits
    # a real recording (another corpus) against the run's test clips, and the reverse
    code, out, err = run(capsys, "search", str(trained), "--corpus", corpus, "--query", "macleod_vibe_ace",
                         "--database", "test", "-k", "2", "--subspace", "genre")
    assert code == 0, err
    assert "from corpus 'music'" in out and "in the run's 9 test tracks" in out and "[jazz;" in out
    assert len(out.splitlines()) == 3
    code, out, err = run(capsys, "search", str(trained), "--query", "macleod_vibe_ace", "--database", corpus,
                         "-k", "1")
    assert code == 0, err  # the same recording in another corpus: the nearest is its copy
    assert "in corpus 'music' (5 tracks)" in out and out.splitlines()[1].split()[1:3] == ["macleod_vibe_ace", "1.000"]
    # by tag, in an embedded .npz
    code, _, err = run(capsys, "embed", str(trained), "--corpus", corpus, "--out", str(tmp_path / "real.npz"))
    assert code == 0, err
    code, out, err = run(capsys, "search", str(trained), "--tag", "jazz", "--database", str(tmp_path / "real.npz"),
                         "-k", "5")
    assert code == 0, err
    assert "for tag 'jazz' (genre)" in out and out.count("score") == 5
    code, out, _ = run(capsys, "search", str(trained), "--corpus", str(tmp_path / "real.npz"), "--query",
                       "sorohan_solo_trumpet", "-k", "2")
    assert code == 0 and "sorohan_solo_trumpet" not in "".join(out.splitlines()[1:])


def test_search_wrong_arguments(capsys, trained, shipped, tmp_path):
    run_dir = str(trained)
    code, _, err = run(capsys, "search", run_dir, "--query", "hobbs_lets_go_fishin_1", "--subspace", "tempo")
    assert_one_line_error(code, err, "unknown sub-space 'tempo'", "genre")
    code, _, err = run(capsys, "search", run_dir, "--tag", "polka")
    assert_one_line_error(code, err, "unknown tag 'polka'", "classical")
    code, _, err = run(capsys, "search", run_dir, "--tag", "jazz", "--subspace", "genre")
    assert_one_line_error(code, err, "--subspace goes with --query")
    code, _, err = run(capsys, "search", run_dir, "--query", "macleod_vibe_ace_0")
    assert_one_line_error(code, err, "'macleod_vibe_ace_0' is not in the run's 9 test tracks", "--corpus")
    code, _, err = run(capsys, "search", run_dir, "--query", "x", "--database", str(tmp_path / "nope"))
    assert_one_line_error(code, err, "nope: no such corpus folder or .npz file")
    code, _, err = run(capsys, "search", str(tmp_path / "norun"), "--query", "x")
    assert_one_line_error(code, err, "no such run folder")
    other = tmp_path / "other"
    shutil.copytree(trained, other)
    (other / "model.keras").write_bytes((other / "model.keras").read_bytes() + b"\0")
    code, _, err = run(capsys, "embed", str(trained), "--corpus", str(shipped / "corpus"), "--out",
                       str(tmp_path / "a.npz"))
    assert code == 0
    code, _, err = run(capsys, "search", str(other), "--corpus", str(tmp_path / "a.npz"), "--query",
                       "macleod_vibe_ace")
    assert_one_line_error(code, err, "embedded by another model")


def test_synth_out_pointing_at_a_file(capsys, tmp_path):
    (tmp_path / "afile").write_text("keep me")
    code, _, err = run(capsys, "corpus", "synth", "--size", "ci", "--out", str(tmp_path / "afile"))
    assert_one_line_error(code, err, "afile is an existing file, not a folder", "choose a new --out")
    assert (tmp_path / "afile").read_text() == "keep me"
