"""The command line with wrong arguments: a one-line error naming the problem and the fix, exit status 2."""

import numpy as np
import pytest

from mdrbench.cli import main


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


def test_search_errors_and_results(capsys, tmp_path):
    code, _, err = run(capsys, "search", str(tmp_path), "--query", "a")
    assert code == 2 and "test_embeddings.npy is missing" in err
    rng = np.random.default_rng(0)
    np.save(tmp_path / "test_embeddings.npy", rng.standard_normal((5, 8)).astype(np.float32))
    np.save(tmp_path / "test_track_ids.npy", np.array([f"t{i}" for i in range(5)]))
    np.save(tmp_path / "test_tag_scores.npy", rng.random((5, 2)).astype(np.float32))
    (tmp_path / "vocabulary.csv").write_text("tag,category\nrock,genre\nsad,mood\n")
    code, out, _ = run(capsys, "search", str(tmp_path), "--query", "t0", "-k", "2", "--subspace", "mood")
    assert code == 0 and out.count("cosine") == 2 and "t0 " not in out.split(":", 1)[1]
    code, _, err = run(capsys, "search", str(tmp_path), "--query", "zz")
    assert code == 2 and "not among the 5 test tracks" in err
    code, _, err = run(capsys, "search", str(tmp_path), "--query", "t0", "--subspace", "tempo")
    assert code == 2 and "unknown sub-space 'tempo'" in err
    code, out, _ = run(capsys, "search", str(tmp_path), "--tag", "sad", "-k", "3")
    assert code == 0 and out.count("score") == 3
    code, _, err = run(capsys, "search", str(tmp_path), "--tag", "polka")
    assert code == 2 and "unknown tag 'polka'" in err
