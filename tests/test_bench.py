"""The benchmark runner end to end on a tiny corpus: results, baselines, report, resume without redoing runs."""

import json

import numpy as np
import pytest

import mdrbench.train
from mdrbench import bench
from mdrbench.evaluate import EXCERPTS_PER_TRACK, sample_track_triplets
from mdrbench.features import fixed_excerpt_starts
from mdrbench.report import collect_results, table3
from mdrbench.results import without_timing
from mdrbench.sizes import get_size, with_overrides
from mdrbench.synth import synthesize

# classification-norm-full is the same function as proxy-norm-full: asking for both trains it once.
CONFIGS = ["classification-norm-dis", "triplet-norm-dis", "proxy-norm-full", "classification-norm-full"]
TRAINED = ["classification-norm-dis", "triplet-norm-dis", "proxy-norm-full"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    corpus = synthesize("ci", seed=1, n_tracks=60, progress=False).save(folder / "corpus")
    size = with_overrides(get_size("ci"), max_epochs=2, steps_per_epoch=3, batch_size=8, n_tracks=60)
    return folder, corpus, size


@pytest.fixture(scope="module")
def finished(tiny):
    folder, corpus, size = tiny
    out = folder / "results"
    results = bench.run_benchmark(size=size, configs=",".join(CONFIGS), seeds=1, out_dir=out, corpus=corpus,
                                  progress=False, verbose=0)
    return out, corpus, results


def test_benchmark_writes_every_run_with_its_training_block(finished):
    out, corpus, results = finished
    models = results[results["kind"] == "model"]
    assert sorted(models["config"]) == sorted(CONFIGS)
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(TRAINED)  # trained once
    for config in TRAINED:
        record = json.loads((out / "runs" / config / "seed0" / "result.json").read_text())
        assert set(record["recall_at_k"]) == {"1", "2", "4", "8"}
        assert 0 <= record["recall_at_k"]["1"] <= record["recall_at_k"]["8"] <= 1
        assert 0 <= record["auc"]["roc_auc"] <= 1
        training = record["training"]
        assert training["stopped_by"] in ("schedule", "cap", "nan")
        assert 1 <= training["epochs_run"] <= 2 and 0 <= training["best_epoch"] <= training["epochs_run"]
        assert training["steps_per_epoch"] == 3 and training["lr_reductions"] >= 0
        assert training["excerpts_per_step"] == 8 * {"classification": 1, "proxy": 1, "triplet": 3}[
            config.split("-")[0]]
        # sub-space rows exist for disentangled models only
        assert ("subspace" in record["triplets"]) == config.endswith("-dis")
        run = bench.load_run(out, config)
        assert run.test_embeddings.shape == (len(corpus.split_indices("test")), 256)
        assert np.isfinite(run.test_embeddings).all()
        assert run.test_tag_scores.shape == (len(corpus.split_indices("test")), len(corpus.vocabulary))
    # A disentangled triplet model scores each tag in its own sub-space; heads give logits.
    assert bench.load_run(out, "triplet-norm-dis").result["auc"]["scores"] == "prototype in the tag's sub-space"
    assert bench.load_run(out, "classification-norm-dis").result["auc"]["scores"] == "head logits"
    # the alias reads the proxy run, and the two rows carry the same numbers
    twin = models.set_index("config")
    assert twin.loc["classification-norm-full", "same_as"] == "proxy-norm-full"
    assert twin.loc["classification-norm-full", "R@1"] == twin.loc["proxy-norm-full", "R@1"]
    assert bench.load_run(out, "classification-norm-full").folder.parent.name == "proxy-norm-full"


def test_baselines_are_scored_on_the_same_sets(finished):
    out, _, results = finished
    baselines = results[results["kind"] == "baseline"].set_index("config")
    assert set(baselines.index) == {"random", "mel-statistics"}
    assert baselines.loc["random", "R@1"] < baselines.loc["mel-statistics", "R@1"] + 20  # both are numbers
    assert 0.3 < baselines.loc["random", "complete:overall"] < 0.7  # chance on triplets
    assert json.loads((out / "baselines" / "mel-statistics" / "seed0" / "result.json").read_text())["auc"][
        "scores"] == "logistic"
    timing = json.loads((out / "timing.json").read_text())
    assert set(timing) == set(TRAINED) and all(t["median_step_seconds"] > 0 for t in timing.values())


def test_table3_has_subspace_rows_for_disentangled_models_only(finished):
    out, _, results = finished
    table = table3(results)
    subspace = table.loc["subspace"].index.tolist()
    assert subspace == ["triplet-norm-dis", "classification-norm-dis"]
    assert "proxy-norm-full" in table.loc["complete"].index


def test_resume_redoes_only_unfinished_runs_and_the_report_names_unreadable_files(tiny, finished, monkeypatch):
    folder, corpus, size = tiny
    out = finished[0]
    trained = []
    real_train = mdrbench.train.train

    def counting_train(name, *args, **kwargs):
        trained.append(name)
        return real_train(name, *args, **kwargs)

    monkeypatch.setattr("mdrbench.train.train", counting_train)
    bench.run_benchmark(size=size, configs=",".join(CONFIGS), seeds=1, out_dir=out, corpus=corpus, progress=False,
                        verbose=0)
    assert trained == []
    broken = out / "runs" / "triplet-norm-dis" / "seed0" / "result.json"
    broken.write_text("{not json")
    results = collect_results(out)
    assert any(str(broken) in problem and "redo" in problem for problem in results.attrs["problems"])
    from mdrbench.report import write_report

    write_report(out)
    assert str(broken) in (out / "report.md").read_text()
    bench.run_benchmark(size=size, configs=",".join(CONFIGS), seeds=1, out_dir=out, corpus=corpus, progress=False,
                        verbose=0)
    assert trained == ["triplet-norm-dis"]


def test_shards_are_disjoint_cover_the_grid_and_are_fixed_by_it():
    planned = bench.planned_runs(["triplet-norm-dis", "proxy-norm-full", "classification-norm-full",
                                  "classification-raw-full"], [0, 1, 2])
    for count in (1, 2, 3, 4, 7, 20):
        shards = [bench.shard_runs(planned, index, count) for index in range(1, count + 1)]
        assert sorted(run for shard in shards for run in shard) == sorted(planned)
        assert sum(len(shard) for shard in shards) == len(planned)  # disjoint
        assert max(map(len, shards)) - min(map(len, shards)) <= 1  # balanced
    assert bench.parse_shard("2/5") == (2, 5)
    for bad in ("0/3", "4/3", "1", "a/b", "1/2/3", "-1/2"):
        with pytest.raises(ValueError, match="is not I/N"):
            bench.parse_shard(bad)


def test_a_sharded_grid_trains_each_run_once_and_the_last_call_only_assembles(tiny, finished, monkeypatch):
    folder, corpus, size = tiny
    out = folder / "sharded"
    real_train, trained = mdrbench.train.train, []

    def counting_train(name, *args, **kwargs):
        trained.append(name)
        return real_train(name, *args, **kwargs)

    monkeypatch.setattr("mdrbench.train.train", counting_train)
    configs = "triplet-norm-dis,proxy-norm-full"
    for index in (1, 2):
        bench.run_benchmark(size=size, configs=configs, seeds=1, out_dir=out, corpus=corpus, progress=False,
                            verbose=0, shard=(index, 2))
        assert not (out / "timing.json").exists()  # step costs come from one machine, after the array
    assert sorted(trained) == ["proxy-norm-full", "triplet-norm-dis"]
    results = bench.run_benchmark(size=size, configs=configs, seeds=1, out_dir=out, corpus=corpus,
                                  progress=False, verbose=0)
    assert sorted(trained) == ["proxy-norm-full", "triplet-norm-dis"]  # nothing retrained
    assert {"proxy-norm-full", "triplet-norm-dis"} <= set(results[results["kind"] == "model"]["config"])
    assert (out / "timing.json").exists()
    serial = finished[0]  # the same runs trained by one unsharded call: the same numbers
    for name in ("proxy-norm-full", "triplet-norm-dis"):
        got, expected = (bench.load_result(bench.run_folder(where, name, 0)) for where in (out, serial))
        assert without_timing(got) == without_timing(expected), name
        np.testing.assert_array_equal(bench.load_run(out, name).test_embeddings,
                                      bench.load_run(serial, name).test_embeddings)


def test_results_folder_of_another_benchmark_is_refused(tiny):
    folder, corpus, size = tiny
    out = folder / "other"
    out.mkdir()
    (out / "benchmark.json").write_text(json.dumps({"size": "full", "corpus": "x", "corpus_fingerprint": "y",
                                                    "frontend": "paper"}))
    with pytest.raises(ValueError, match="holds results of another benchmark"):
        bench.run_benchmark(size=size, configs="proxy-norm-full", out_dir=out, corpus=corpus, progress=False,
                            verbose=0)


def test_track_triplets_pair_two_excerpts_that_never_overlap():
    lengths = np.array([200, 300, 188, 500, 90])
    triplets = sample_track_triplets(lengths, 94, 1000, seed=0)
    anchor, anchor_excerpt, positive_excerpt, negative = triplets.T
    starts = fixed_excerpt_starts(lengths, 94, EXCERPTS_PER_TRACK)
    assert (np.abs(starts[anchor, anchor_excerpt] - starts[anchor, positive_excerpt]) >= 94).all()
    assert (anchor != negative).all() and not np.isin(4, anchor)  # the 90-frame track is never an anchor
    assert set(anchor_excerpt) == {0, EXCERPTS_PER_TRACK - 1}


def test_stored_evidence_gives_each_run_its_own_numbers_back(finished):
    """The per-query evidence is what the record's numbers are means of: with every test track counted once, the
    resampling code returns the record exactly, for every run and baseline."""
    from mdrbench.evidence import PROBE_COLUMN, replicates
    from mdrbench.report import probe_selectivity
    from mdrbench.results import RunFolder

    out, _, _ = finished
    folders = sorted(out.glob("runs/*/seed*")) + sorted(out.glob("baselines/*/seed*"))
    assert folders
    for path in folders:
        folder = RunFolder(path)
        record, evidence = folder.result(), folder.evidence()
        ones = np.ones((1, evidence.n_queries))
        assert replicates(evidence, "R@1", ones)[0] == pytest.approx(100 * record["recall_at_k"]["1"])
        assert replicates(evidence, "AUC", ones)[0] == pytest.approx(record["auc"]["roc_auc"])
        assert replicates(evidence, "complete:overall", ones)[0] == pytest.approx(
            record["triplets"]["complete"]["overall"])
        assert replicates(evidence, "track", ones)[0] == pytest.approx(record["track_triplet_accuracy"])
        if "subspace" in record["triplets"]:
            assert replicates(evidence, "subspace:overall", ones)[0] == pytest.approx(
                record["triplets"]["subspace"]["overall"])
        if record.get("disentanglement") and "genre" in record["disentanglement"]:
            assert replicates(evidence, PROBE_COLUMN, ones)[0] == pytest.approx(
                probe_selectivity(record["disentanglement"]))


def test_a_second_preparer_of_one_results_folder_waits_for_the_first(tiny, capsys):
    """Shards of a Slurm array started together: one builds the corpus, features and baselines, the rest wait."""
    import threading
    import time

    from filelock import FileLock

    folder, corpus, size = tiny
    out = folder / "locked"
    out.mkdir()
    held = FileLock(out / ".prepare.lock")
    held.acquire()  # as if another shard were preparing
    worker = threading.Thread(target=bench.prepare_benchmark, args=(size, out, [0], corpus),
                              kwargs={"progress": False, "verbose": 1})
    worker.start()
    time.sleep(1.0)
    assert worker.is_alive() and not (out / "benchmark.json").exists()
    held.release()
    worker.join(timeout=120)
    assert not worker.is_alive() and (out / "benchmark.json").exists()
    assert "waiting: another mdrbench is preparing" in capsys.readouterr().out
