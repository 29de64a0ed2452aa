"""A cost plan before a long job (``mdrbench bench --plan``): what the grid will cost on this hardware.

For the chosen size the plan lists the runs, measures the seconds one training step of each configuration takes
here (:func:`mdrbench.bench.measure_step_costs`, a few interleaved steps), and multiplies by what a run needs:

    seconds of a run = expected epochs x steps per epoch x seconds per step x overhead

- **expected epochs**: from stored runs of the same size and configuration (the results folder, the size's
  default results folder and its reference bundle) as their median and range; where there are none, the range
  the schedule allows, from its shortest possible run (:func:`shortest_run`) to the epoch cap.
- **overhead**: what a run spends beyond its training steps (validation every epoch, the evaluation at the
  end), as the ratio of measured run wall time to its training steps in the stored runs, per objective;
  without stored runs, those of the reference bundle.

The wall time on N workers is the longest-first greedy schedule of the runs over N equal workers (a run is
never split). The corpus, its features and the baselines come before the grid; the corpus and features are
built by the plan itself when missing (the step timing needs them), so they are not in its figure.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mdrbench.sizes import Size, get_size

WORKERS = (1, 2, 4, 8)
PLAN_ROUNDS, PLAN_STEPS = 2, 2  # a few timed steps per configuration: seconds, not minutes


def shortest_run(size: Size) -> int:
    """The fewest epochs the schedule can run: the first epoch is the best, then ``patience`` stalled epochs
    before each of the ``max_lr_reductions`` reductions and before the stop."""
    return min(size.max_epochs, 1 + (size.max_lr_reductions + 1) * size.patience)


def stored_runs(folders: list[Path], size_name: str) -> pd.DataFrame:
    """Runs of ``size_name`` finished in ``folders``: config, objective, epochs, steps per epoch, median step
    seconds, wall seconds (one row per run; a folder of another size is skipped)."""
    from mdrbench.configs import get_config
    from mdrbench.results import read_manifest, scan_results

    rows = []
    for folder in folders:
        if folder is None or not Path(folder).is_dir():
            continue
        try:
            if read_manifest(folder).get("size") != size_name:
                continue
        except (OSError, ValueError):
            continue
        records, _ = scan_results(folder)
        for record in records:
            training = record.get("training") or {}
            if not training.get("epochs_run"):
                continue
            rows.append({"config": record["config"], "objective": get_config(record["config"]).objective,
                         "epochs": training["epochs_run"], "steps_per_epoch": training["steps_per_epoch"],
                         "step_seconds": training["median_step_seconds"], "wall_seconds": record["wall_seconds"],
                         "folder": str(folder)})
    return pd.DataFrame(rows, columns=["config", "objective", "epochs", "steps_per_epoch", "step_seconds",
                                       "wall_seconds", "folder"])


def overheads(runs: pd.DataFrame) -> dict[str, float]:
    """Per objective: median over runs of wall seconds / (epochs x steps per epoch x step seconds)."""
    ratio = runs["wall_seconds"] / (runs["epochs"] * runs["steps_per_epoch"] * runs["step_seconds"])
    return {objective: float(values.median()) for objective, values in ratio.groupby(runs["objective"])}


def makespan(seconds: list[float], workers: int) -> float:
    """Wall time of runs of these lengths on ``workers`` equal workers, longest first, each to the worker that
    frees up first (the greedy rule Ray's queue follows, near the best schedule for a few dozen runs)."""
    loads = [0.0] * workers
    for length in sorted(seconds, reverse=True):
        loads[loads.index(min(loads))] += length
    return max(loads)


@dataclass
class Plan:
    """A cost plan: ``table`` one row per configuration trained; wall seconds serially (expected, low, high)
    and on N workers (expected); ``text`` the printable plan."""

    table: pd.DataFrame
    serial_seconds: tuple[float, float, float]
    workers_seconds: dict[int, float]
    text: str


def plan_from_costs(size: Size, runs: list[tuple[str, int]], step_seconds: dict[str, float], stored: pd.DataFrame,
                    default_overheads: dict[str, float], n_train_tracks: int, workers=WORKERS) -> Plan:
    """The plan from measured step costs (no measuring here: :func:`plan_benchmark` measures, and a check
    can feed the step costs a past benchmark measured)."""
    from mdrbench.configs import get_config
    from mdrbench.report import markdown_table
    from mdrbench.train import steps_per_epoch

    steps = steps_per_epoch(size, n_train_tracks)
    factors = {**default_overheads, **(overheads(stored) if len(stored) else {})}
    rows, per_run = [], {"expected": [], "low": [], "high": []}
    for name in dict.fromkeys(name for name, _ in runs):
        objective = get_config(name).objective
        mine = stored[stored["config"] == name]["epochs"]
        if len(mine):
            expected, low, high = float(statistics.median(mine)), float(mine.min()), float(mine.max())
            source = f"{len(mine)} stored run{'s' if len(mine) != 1 else ''}"
        else:
            low, high = float(shortest_run(size)), float(size.max_epochs)
            expected, source = (low + high) / 2, "schedule range (no stored runs)"
        factor = factors.get(objective, max(default_overheads.values(), default=1.0))
        run_seconds = {key: epochs * steps * step_seconds[name] * factor
                       for key, epochs in (("expected", expected), ("low", low), ("high", high))}
        count = sum(1 for run_name, _ in runs if run_name == name)
        for key in per_run:
            per_run[key] += [run_seconds[key]] * count
        rows.append({"config": name, "runs": count, "s/step": step_seconds[name], "steps/epoch": steps,
                     "epochs": expected, "epochs low": low, "epochs high": high, "epochs from": source,
                     "overhead": factor, "s/run": run_seconds["expected"]})
    table = pd.DataFrame(rows).set_index("config")
    serial = tuple(float(sum(per_run[key])) for key in ("expected", "low", "high"))
    on_workers = {n: makespan(per_run["expected"], n) for n in workers}
    shown = table.copy()
    shown["s/step"] = shown["s/step"].map(lambda value: f"{value:.3f}")
    shown["overhead"] = shown["overhead"].map(lambda value: f"x{value:.2f}")
    shown["s/run"] = shown["s/run"].map(lambda value: f"{value:.0f}")
    for column in ("epochs", "epochs low", "epochs high"):
        shown[column] = shown[column].map(lambda value: f"{value:g}")
    lines = [markdown_table(shown), "",
             f"expected wall time, serially: {_duration(serial[0])} (range {_duration(serial[1])} to "
             f"{_duration(serial[2])}), {len(runs)} runs",
             "on N workers like this machine: " + ", ".join(f"{n}: {_duration(s)}" for n, s in on_workers.items()),
             "not included: building the corpus and its features (done by this plan when missing), the baselines "
             "and the final step timing."]
    return Plan(table, serial, on_workers, "\n".join(lines))


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def reference_overheads() -> dict[str, float]:
    """Overheads measured in the reference bundle's runs (the default size), the fallback of every plan."""
    from mdrbench.reference import reference_folder

    folder = reference_folder("default")
    return overheads(stored_runs([folder], "default")) if folder is not None else {}


def plan_benchmark(size: str | Size = "default", configs="all", seeds=None, corpus=None, results=None,
                   threads: int | None = None, precision: str = "auto", workers=WORKERS, verbose: int = 0) -> Plan:
    """Measure the step costs here and plan the grid (see the module docstring); nothing is trained.

    Args:
        size, configs, seeds, corpus: as :func:`mdrbench.bench.run_benchmark`.
        results: the results folder the grid would write (its finished runs inform the epochs and are
            left out of the plan: a resumed grid does not redo them). The size's default results folder and
            its reference bundle inform the epochs too.
        threads: torch threads while timing, as the grid would train (pinned).
    """
    from mdrbench.bench import config_names, load_result, measure_step_costs, planned_runs, run_folder, seed_numbers
    from mdrbench.features import FRONTENDS, compute_features
    from mdrbench.reference import reference_folder
    from mdrbench.train import machine_description, pinned_threads, resolve_precision

    size = get_size(size) if isinstance(size, str) else size
    runs = planned_runs(config_names(configs), seed_numbers(size, seeds))
    if results is not None:
        runs = [(name, seed) for name, seed in runs if load_result(run_folder(results, name, seed)) is None]
    if corpus is None:
        from mdrbench.synth import ensure_corpus

        corpus = ensure_corpus(size, progress=verbose > 0)
    features = compute_features(corpus, FRONTENDS[size.frontend], progress=verbose > 0)
    names = list(dict.fromkeys(name for name, _ in runs))
    with pinned_threads(threads):
        costs = measure_step_costs(names, corpus, features, size, rounds=PLAN_ROUNDS, steps=PLAN_STEPS,
                                   verbose=verbose, precision=precision) if names else {}
        machine = machine_description()
    from mdrbench.paths import results_dir

    folders = dict.fromkeys(Path(folder).resolve() for folder in (results, results_dir(size.name),
                                                                   reference_folder(size.name)) if folder is not None)
    stored = stored_runs(list(folders), size.name)
    if not runs:
        return Plan(pd.DataFrame(), (0.0, 0.0, 0.0), {n: 0.0 for n in workers},
                    f"nothing to plan: every run of the grid is finished in {results}.")
    plan = plan_from_costs(size, runs, {name: cost["median_step_seconds"] for name, cost in costs.items()}, stored,
                           reference_overheads(), len(corpus.split_indices("train")), workers)
    header = (f"cost plan: size {size.name}, corpus {corpus.name}, {len(runs)} runs to train, on {machine}, "
              f"precision {resolve_precision(precision)} (step costs: {PLAN_ROUNDS} rounds x {PLAN_STEPS} timed "
              f"steps per configuration)")
    plan.text = header + "\n\n" + plan.text
    return plan
