"""The cost plan: its arithmetic, its sources for epochs and overheads, and a real plan on a tiny corpus."""

import pandas as pd
import pytest

from mdrbench import plan
from mdrbench.sizes import get_size, with_overrides
from mdrbench.synth import synthesize


def test_the_shortest_run_is_one_epoch_then_a_stall_before_every_reduction_and_the_stop():
    assert plan.shortest_run(get_size("ci")) == 1 + 2 * 1  # patience 1, one reduction
    assert plan.shortest_run(get_size("default")) == 1 + 3 * 2  # patience 2, two reductions
    assert plan.shortest_run(with_overrides(get_size("default"), max_epochs=4)) == 4  # never past the cap


def test_makespan_is_longest_first_greedy():
    assert plan.makespan([5, 4, 3, 3, 3], 1) == 18
    assert plan.makespan([5, 4, 3, 3, 3], 2) == 10  # 5 and 4, then each 3 to the first free: 5+3, 4+3+3
    assert plan.makespan([5, 4, 3, 3, 3], 8) == 5  # more workers than runs: the longest run


def _stored(rows):
    return pd.DataFrame(rows, columns=["config", "objective", "epochs", "steps_per_epoch", "step_seconds",
                                       "wall_seconds", "folder"])


def test_plan_uses_stored_epochs_and_overheads_else_the_schedule_range():
    size = get_size("default")
    runs = [("proxy-norm-dis", 0), ("proxy-norm-dis", 1), ("triplet-norm-dis", 0)]
    stored = _stored([["proxy-norm-dis", "proxy", 20, 10, 0.1, 30.0, "x"],  # 20 epochs x 10 steps x 0.1 s = 20 s
                      ["proxy-norm-dis", "proxy", 30, 10, 0.1, 45.0, "x"]])  # overhead 1.5 both times
    step_seconds = {"proxy-norm-dis": 0.2, "triplet-norm-dis": 0.5}
    result = plan.plan_from_costs(size, runs, step_seconds, stored, {"triplet": 1.2, "proxy": 9.0},
                                  n_train_tracks=640, workers=(1, 2))
    proxy, triplet = result.table.loc["proxy-norm-dis"], result.table.loc["triplet-norm-dis"]
    steps = 640 // size.batch_size
    assert proxy["epochs"] == 25 and proxy["overhead"] == pytest.approx(1.5)  # stored beats the default
    assert proxy["s/run"] == pytest.approx(25 * steps * 0.2 * 1.5)
    assert (triplet["epochs low"], triplet["epochs high"]) == (7, 80)  # no stored runs: the schedule's range
    assert triplet["overhead"] == pytest.approx(1.2) and "schedule range" in triplet["epochs from"]
    assert result.serial_seconds[0] == pytest.approx(2 * proxy["s/run"] + triplet["s/run"])
    assert result.workers_seconds[2] == pytest.approx(max(triplet["s/run"], 2 * proxy["s/run"]))
    assert "expected wall time, serially" in result.text


def test_a_real_plan_measures_every_configuration_and_leaves_finished_runs_out(tmp_path, one_thread):
    from mdrbench import bench

    corpus = synthesize("ci", seed=1, n_tracks=60, progress=False).save(tmp_path / "corpus")
    size = with_overrides(get_size("ci"), max_epochs=2, steps_per_epoch=3, batch_size=8, n_tracks=60)
    before = plan.plan_benchmark(size, configs="proxy-norm-dis,triplet-norm-dis", seeds=1, corpus=corpus,
                                 results=tmp_path / "results")
    assert list(before.table.index) == ["proxy-norm-dis", "triplet-norm-dis"]
    assert (before.table["s/step"] > 0).all() and before.serial_seconds[1] <= before.serial_seconds[2]
    assert "cost plan: size ci" in before.text and "precision" in before.text
    bench.run_benchmark(size=size, configs="proxy-norm-dis", seeds=1, out_dir=tmp_path / "results", corpus=corpus,
                        progress=False, verbose=0, timing=False)
    after = plan.plan_benchmark(size, configs="proxy-norm-dis,triplet-norm-dis", seeds=1, corpus=corpus,
                                results=tmp_path / "results")
    assert list(after.table.index) == ["triplet-norm-dis"]  # the finished run is not planned again
