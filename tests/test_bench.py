"""The benchmark runner end to end on a tiny corpus: results, report, resume without redoing runs."""

import json

import numpy as np
import pytest

import mdrbench.train
from mdrbench import bench
from mdrbench.sizes import get_size, with_overrides
from mdrbench.synth import synthesize

CONFIGS = ["classification-norm-dis", "triplet-norm-dis"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    corpus = synthesize("ci", seed=1, n_tracks=60, progress=False).save(folder / "corpus")
    size = with_overrides(get_size("ci"), max_epochs=2, steps_per_epoch=3, batch_size=8, n_tracks=60)
    return folder, corpus, size


def test_benchmark_runs_reports_and_resumes(tiny, monkeypatch):
    folder, corpus, size = tiny
    out = folder / "results"
    results = bench.run_benchmark(size=size, configs=",".join(CONFIGS), seeds=1, out_dir=out, corpus=corpus,
                                  progress=False, verbose=0)
    assert sorted(results["config"]) == sorted(CONFIGS)
    for config in CONFIGS:
        record = json.loads((out / "runs" / config / "seed0" / "result.json").read_text())
        assert set(record["recall_at_k"]) == {"1", "2", "4", "8"}
        assert 0 <= record["recall_at_k"]["1"] <= record["recall_at_k"]["8"] <= 1
        assert 0 <= record["auc"]["roc_auc"] <= 1
        assert "subspace" in record["triplets"]
        assert record["disentanglement"] is not None
        run = bench.load_run(out, config)
        assert run.test_embeddings.shape == (len(corpus.split_indices("test")), 256)
        assert np.isfinite(run.test_embeddings).all()
        assert run.test_tag_scores.shape == (len(corpus.split_indices("test")), len(corpus.vocabulary))
    # The triplet model scores tags by prototypes, the classifier by its head.
    assert bench.load_run(out, "triplet-norm-dis").result["auc"]["scores"] == "prototype"
    assert bench.load_run(out, "classification-norm-dis").result["auc"]["scores"] == "head"
    report = (out / "report.md").read_text()
    assert "Table 1" in report and "classification-norm-dis" in report

    # Resume: a finished run is never trained again; an unfinished one (no result.json) is.
    trained = []
    real_train = mdrbench.train.train

    def counting_train(name, *args, **kwargs):
        trained.append(name)
        return real_train(name, *args, **kwargs)

    monkeypatch.setattr("mdrbench.train.train", counting_train)
    bench.run_benchmark(size=size, configs=",".join(CONFIGS), out_dir=out, corpus=corpus, progress=False, verbose=0)
    assert trained == []
    (out / "runs" / "triplet-norm-dis" / "seed0" / "result.json").unlink()
    bench.run_benchmark(size=size, configs=",".join(CONFIGS), out_dir=out, corpus=corpus, progress=False, verbose=0)
    assert trained == ["triplet-norm-dis"]


def test_results_folder_of_another_benchmark_is_refused(tiny):
    folder, corpus, size = tiny
    out = folder / "other"
    out.mkdir()
    (out / "benchmark.json").write_text(json.dumps({"size": "full", "corpus": "x", "corpus_fingerprint": "y",
                                                    "frontend": "paper"}))
    with pytest.raises(ValueError, match="holds results of another benchmark"):
        bench.run_benchmark(size=size, configs="proxy-norm-full", out_dir=out, corpus=corpus, progress=False,
                            verbose=0)


def test_track_triplets_never_overlap():
    lengths = np.array([200, 300, 188, 500])
    triplets = bench.sample_track_triplets(lengths, 94, 1000, seed=0)
    anchor, anchor_start, positive_start, negative, negative_start = triplets.T
    assert (np.abs(anchor_start - positive_start) >= 94).all()
    assert (anchor != negative).all()
    assert (anchor_start + 94 <= lengths[anchor]).all() and (positive_start + 94 <= lengths[anchor]).all()
    assert (negative_start + 94 <= lengths[negative]).all()
