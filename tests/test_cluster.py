"""Ray: the ci grid and the sharded embedding equal their serial counterparts number for number; workers that
die are retried a bounded number of times; every cluster problem is one line with its fix.

One local Ray cluster (2 CPUs) serves the whole module. CI installs the `cluster` extra, so Ray missing there
fails instead of skipping.
"""

import json
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from mdrbench import bench, paths
from mdrbench.results import RunFolder, load_result, run_folder, without_timing
from mdrbench.sizes import get_size

if os.environ.get("CI") == "true":
    import ray  # noqa: F401  (the cluster extra is part of CI's install: a missing Ray must fail, not skip)
ray = pytest.importorskip("ray", reason="Ray not installed: pip install -e '.[cluster]'")

from mdrbench import cluster  # noqa: E402

AMBIENT_HOME = paths.home()  # where the ci corpus lives (CI's `mdrbench bench` made it)
CONFIGS = "proxy-norm-dis,triplet-norm-dis"  # a proxy and a triplet objective, both disentangled


@pytest.fixture(scope="module")
def local_ray():
    assert cluster.connect(None, local_cpus=2)
    yield
    cluster.disconnect(True)


@pytest.fixture(scope="module")
def ci_grids(local_ray, tmp_path_factory):
    """The ci grid (two configurations, two seeds) serially and on Ray, both at one torch thread per run."""
    folder = tmp_path_factory.mktemp("grids")
    size = get_size("ci")
    serial = bench.run_benchmark(size=size, configs=CONFIGS, seeds=2, out_dir=folder / "serial", progress=False,
                                 verbose=0, threads=1)
    on_ray = cluster.run_benchmark_ray(size=size, configs=CONFIGS, seeds=2, out_dir=folder / "ray", threads=1,
                                       progress=False, verbose=1)
    return folder, serial, on_ray


def test_a_ray_grid_equals_the_serial_grid_run_for_run(ci_grids):
    folder, serial, on_ray = ci_grids
    runs = [(name, seed) for name in CONFIGS.split(",") for seed in (0, 1)]
    for name, seed in runs:
        expected, got = (RunFolder(run_folder(folder / kind, name, seed)) for kind in ("serial", "ray"))
        assert without_timing(got.result()) == without_timing(expected.result()), (name, seed)
        for array in ("test_embeddings", "test_tag_scores"):
            np.testing.assert_array_equal(np.load(got.path / f"{array}.npy"), np.load(expected.path / f"{array}.npy"))
        histories = [without_timing(json.loads((f.path / "history.json").read_text())) for f in (expected, got)]
        assert histories[0] == histories[1], (name, seed)
        assert "1 threads" in got.result()["training"]["machine"]  # the pinned count, recorded
    assert sorted(on_ray["config"]) == sorted(serial["config"])
    assert (folder / "ray" / "timing.json").exists() and (folder / "ray" / "report.md").exists()


def test_a_second_ray_call_keeps_every_finished_run(ci_grids, capsys):
    folder, _, _ = ci_grids
    stamps = {path: path.stat().st_mtime_ns for path in (folder / "ray" / "runs").glob("*/seed*/result.json")}
    cluster.run_benchmark_ray(size="ci", configs=CONFIGS, seeds=2, out_dir=folder / "ray", threads=1,
                              progress=False, verbose=1)
    assert "0 of 4 runs to train (4 done earlier, kept)" in capsys.readouterr().out
    assert {path: path.stat().st_mtime_ns for path in stamps} == stamps


def test_a_run_that_raises_on_a_worker_is_one_line_and_the_finished_runs_are_kept(ci_grids, tmp_path, monkeypatch):
    folder, _, _ = ci_grids
    out = tmp_path / "partial"
    out.mkdir()
    for name in CONFIGS.split(","):  # seed 0 finished earlier (copied), seed 1 will fail on its worker
        source = run_folder(folder / "ray", name, 0)
        target = run_folder(out, name, 0)
        target.mkdir(parents=True)
        for path in source.iterdir():
            (target / path.name).write_bytes(path.read_bytes())
    real = cluster.RunJob

    def broken_job(*fields):  # seed 1 asks a precision no worker knows: train raises there
        job = real(*fields)
        return replace(job, precision="fp8") if job.seed == 1 else job

    monkeypatch.setattr(cluster, "RunJob", broken_job)
    with pytest.raises(cluster.ClusterError) as raised:
        cluster.run_benchmark_ray(size="ci", configs=CONFIGS, seeds=2, out_dir=out, threads=1, progress=False,
                                  verbose=0)
    message = str(raised.value)
    assert "\n" not in message and "2 of 4 tasks failed" in message and "seed 1" in message
    assert "unknown precision 'fp8'" in message
    assert "rerun the same `mdrbench bench`" in message
    for name in CONFIGS.split(","):
        assert load_result(run_folder(out, name, 0)) is not None and load_result(run_folder(out, name, 1)) is None


def test_a_dead_worker_is_retried_and_reported_and_retries_are_bounded(local_ray, tmp_path, capsys):
    # Defined here, not at module level: Ray's workers cannot import this test module, so these go by value.
    def _die_once(marker):
        """A task whose worker dies on its first attempt (as on a lost node) and succeeds on the retry."""
        from pathlib import Path

        if not Path(marker).exists():
            Path(marker).write_text("died once")
            os._exit(1)
        return "ok"

    def _always_die(_):
        os._exit(1)

    failures = cluster.run_tasks(_die_once, [str(tmp_path / "marker")], ["flaky"], {"num_cpus": 1, "num_gpus": 0},
                                 tmp_path / "attempts", on_done=lambda job, value: value, what="tasks")
    assert failures == []
    assert cluster.attempts(tmp_path / "attempts", "flaky") == 2
    assert "flaky: done (after 1 retry: its worker died), ok" in capsys.readouterr().out
    failures = cluster.run_tasks(_always_die, [None], ["doomed"], {"num_cpus": 1, "num_gpus": 0},
                                 tmp_path / "attempts", verbose=0)
    assert [failure.label for failure in failures] == ["doomed"]
    assert cluster.attempts(tmp_path / "attempts", "doomed") == cluster.RETRIES + 1
    assert "retries exhausted" in failures[0].cause


def test_progress_shows_while_a_long_task_is_in_flight(local_ray, tmp_path, capsys, monkeypatch):
    def _slow(seconds):
        import time

        time.sleep(seconds)
        return "slept"

    monkeypatch.setattr(cluster, "HEARTBEAT_SECONDS", 0.5)
    assert cluster.run_tasks(_slow, [3.0], ["slow"], {"num_cpus": 1, "num_gpus": 0}, tmp_path / "attempts") == []
    out = capsys.readouterr().out
    assert "[runs: 0 done, 1 in flight or queued, 0 failed, of 1] working" in out and "slow: done" in out


def test_a_worker_without_the_shared_folder_names_it_and_the_fix(local_ray, tmp_path):
    job = cluster.EmbedJob(str(tmp_path / "no-run"), "x", str(tmp_path / "no-corpus"), "y", 0, 1,
                           str(tmp_path / "part.npz"), 1, None, False)
    (failure,) = cluster.run_tasks(cluster.embed_on_worker, [job], ["tracks 0-0"], {"num_cpus": 1, "num_gpus": 0},
                                   tmp_path / "attempts", verbose=0)
    assert "cannot see the run folder" in failure.cause and "mounts at the same path" in failure.cause


def test_a_cluster_without_the_resources_asked_for_is_refused_before_any_work(local_ray, tmp_path):
    with pytest.raises(cluster.ClusterError, match="no node of the Ray cluster can run a task asking 64 CPU"):
        cluster.run_benchmark_ray(size="ci", configs=CONFIGS, seeds=1, out_dir=tmp_path / "out", threads=64,
                                  progress=False, verbose=0)
    assert not (tmp_path / "out").exists()
    nodes = [{"CPU": 16.0, "GPU": 2.0}, {"CPU": 8.0}]
    assert cluster.task_resources(None, nodes) == {"num_cpus": 4, "num_gpus": 1}  # a GPU and its CPU share
    assert cluster.task_slots({"num_cpus": 4, "num_gpus": 1}, nodes) == 2  # only the GPU node runs them
    assert cluster.task_resources(None, [{"CPU": 2.0}]) == {"num_cpus": 2, "num_gpus": 0}


def test_sharded_embedding_on_ray_equals_the_serial_embedding(ci_grids, tmp_path):
    from mdrbench.search import embed_corpus
    from mdrbench.synth import ensure_corpus
    from mdrbench.train import pinned_threads

    folder, _, _ = ci_grids
    corpus = ensure_corpus("ci", progress=False)
    for name in CONFIGS.split(","):  # head logits (proxy) and train-track prototypes (triplet)
        run = run_folder(folder / "ray", name, 0)
        with pinned_threads(1):
            serial = embed_corpus(run, corpus, cache_dir=False)
        embedded, tracks_per_second = cluster.embed_corpus_ray(run, corpus.root, tmp_path / name, threads=1,
                                                               tracks_per_task=100, verbose=0)
        assert len(list((tmp_path / name).glob("part-*.npz"))) == 3 and tracks_per_second > 0
        np.testing.assert_array_equal(embedded.track_ids, serial.track_ids)
        np.testing.assert_array_equal(embedded.embeddings, serial.embeddings)
        np.testing.assert_array_equal(embedded.tag_scores, serial.tag_scores)
        again, rate = cluster.embed_corpus_ray(run, corpus.root, tmp_path / name, threads=1, tracks_per_task=100,
                                               verbose=0)
        assert np.isnan(rate)  # every part kept: nothing embedded the second time
        np.testing.assert_array_equal(again.embeddings, serial.embeddings)


def run_cli(*args):
    env = {**os.environ, "MDRBENCH_HOME": str(AMBIENT_HOME)}
    env.pop("MDRBENCH_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "mdrbench.cli", *map(str, args)], capture_output=True, text=True,
                          env=env)


@pytest.mark.parametrize("address, expected", [("127.0.0.1:1", "no Ray cluster answers at 127.0.0.1:1"),
                                               ("head-without-port", "is not HOST:PORT")])
def test_a_wrong_ray_address_is_one_line_with_the_fix(address, expected, tmp_path):
    done = run_cli("bench", "--size", "ci", "--configs", "proxy-norm-dis", "--seeds", "1", "--ray", address,
                   "--out", tmp_path / "out")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0 and expected in done.stderr and "Fix:" in done.stderr


@pytest.mark.parametrize("args, expected", [
    (("bench", "--size", "ci", "--ray", "--shard", "1/2"), "choose one"),
    (("bench", "--size", "ci", "--ray-cpus", "2"), "add --ray"),
    (("embed", "run", "--audio", "a.wav", "--out", "a.npz", "--ray"), "give --corpus DIR"),
    (("embed", "run", "--corpus", "c", "--out", "a.npz", "--tracks-per-task", "5"), "add --ray"),
])
def test_cluster_options_that_do_not_go_together_are_one_line(args, expected):
    done = run_cli(*args)
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0 and expected in done.stderr, done.stderr


def test_mdrbench_bench_plan_prints_the_plan_and_trains_nothing(tmp_path):
    done = run_cli("bench", "--size", "ci", "--configs", "proxy-norm-dis,triplet-norm-dis", "--seeds", "2", "--plan",
                   "--threads", "1", "--out", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert "cost plan: size ci" in done.stdout and "| proxy-norm-dis | 2 |" in done.stdout
    assert "on N workers like this machine: 1:" in done.stdout and "1 threads" in done.stdout
    assert not (tmp_path / "out" / "runs").exists()
