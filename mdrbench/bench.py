"""The benchmark: every (configuration, seed) trained and evaluated, resumable, with baselines and a fair
measurement of what one training step costs.

``run_benchmark`` (and ``mdrbench bench``) does, writing each result as soon as it exists:

1. the corpus and its features (cached, validated);
2. the evaluation sets, drawn once (:func:`mdrbench.evaluate.make_evaluation_sets`);
3. the baselines (random embeddings, mel statistics) on those sets;
4. the grid, seed by seed: train (:func:`mdrbench.train.train`), evaluate (:func:`mdrbench.evaluate.evaluate`),
   write ``result.json`` last, rebuild the report. ``classification-norm-full`` is the same function as
   ``proxy-norm-full`` and is trained once (:data:`mdrbench.configs.SAME_FUNCTION`);
5. the step timing (:func:`measure_step_costs`): every configuration's training step timed in one process,
   round-robin, so that a job that shares the machine for a while slows every configuration alike;
6. the report (:func:`mdrbench.report.write_report`).

Killing it at any point and starting it again redoes at most the run that was in flight (see
:mod:`mdrbench.results` for the folder layout).
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from mdrbench.corpus import Corpus
from mdrbench.evaluate import (  # noqa: F401  (re-exported: notebooks read these from mdrbench.bench)
    BASELINES,
    KS,
    NOTIONS,
    EvaluationSets,
    ModelEmbedder,
    baseline_embedder,
    evaluate,
    make_evaluation_sets,
)
from mdrbench.results import (  # noqa: F401  (re-exported)
    RESULT_VERSION,
    Run,
    RunFolder,
    atomic_save_npy,
    atomic_write_json,
    atomic_write_text,
    baseline_folder,
    check_manifest,
    load_result,
    load_run,
    run_folder,
)
from mdrbench.sizes import Size, get_size

TIMING_ROUNDS = 5  # interleaved rounds of the step timing
TIMING_STEPS = 3  # timed steps per configuration and round (after one warm-up step)


def save_evaluation(evaluation, corpus: Corpus, folder: RunFolder) -> None:
    """Write what search, the notebooks and the report read, before result.json: the test arrays (track and
    excerpt embeddings, tag scores, track ids), the vocabulary and the per-query evidence."""
    folder.write_test_arrays(evaluation.test_embeddings, evaluation.test_tag_scores,
                             corpus.track_ids[corpus.split_indices("test")], evaluation.test_excerpts,
                             corpus.vocabulary)
    folder.write_evidence(evaluation.evidence)


def evaluate_trained(result, corpus: Corpus, features, sets: EvaluationSets, run_dir: Path) -> dict:
    """Evaluate a :class:`mdrbench.train.TrainResult`, save its test arrays and evidence, return its record."""
    evaluation = evaluate(ModelEmbedder(result.model), corpus, features, sets, seed=result.seed)
    save_evaluation(evaluation, corpus, RunFolder(run_dir))
    return {**evaluation.record, "config": result.config.name, "training": result.training_block()}


def run_baselines(corpus: Corpus, features, sets: EvaluationSets, seeds: list[int], out_dir: Path,
                  verbose: int = 1) -> None:
    """Score the random baseline once per seed and the mel-statistics baseline (deterministic) once."""
    for name in BASELINES:
        for seed in (seeds if name == "random" else seeds[:1]):
            folder = RunFolder(baseline_folder(out_dir, name, seed))
            if load_result(folder.path) is not None:
                continue
            evaluation = evaluate(baseline_embedder(name, corpus, features, seed), corpus, features, sets, seed,
                                  probes=False)
            save_evaluation(evaluation, corpus, folder)
            folder.finish({**evaluation.record, "config": name, "training": None})
            if verbose:
                record = evaluation.record
                print(f"baseline {name} seed {seed}: R@1 {record['recall_at_k']['1']:.3f}  "
                      f"AUC {record['auc']['roc_auc']:.3f}", flush=True)


def measure_step_costs(configs: list[str], corpus: Corpus, features, size: Size, rounds: int = TIMING_ROUNDS,
                       steps: int = TIMING_STEPS, verbose: int = 1, precision: str = "auto") -> dict[str, dict]:
    """The wall time of one training step of every configuration, measured in this process, round-robin.

    Each round times ``steps`` steps of every configuration in turn (after a warm-up step), and the figure is
    the median over all rounds: a job that shares the machine for a while inflates every configuration alike,
    unlike wall-clock epochs measured hours apart.

    Returns {config: {"median_step_seconds", "excerpts_per_step", "steps_per_epoch", "rounds"}}.
    """
    import keras
    import torch

    from mdrbench.configs import get_config
    from mdrbench.models import build_model
    from mdrbench.train import _tag_categories, excerpts_per_step, make_sampler, resolve_precision, steps_per_epoch

    precision = resolve_precision(precision)

    train_tracks = corpus.split_indices("train")
    settings = features.settings
    steppers = {}
    for name in configs:
        config = get_config(name)
        model = build_model(config, _tag_categories(corpus), input_shape=(1, settings.n_mels,
                                                                          settings.excerpt_frames),
                            backbone=size.backbone)
        model.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
        model.autocast_dtype = torch.bfloat16 if precision == "bf16" else None  # as mdrbench.train.train runs
        sampler = make_sampler(config, features, corpus, train_tracks, size.batch_size, steps + 1, seed=0)
        batches = [sampler[i] for i in range(steps + 1)]
        model.train_on_batch(*batches[0])  # warm-up: allocations, optimizer state
        steppers[name] = (model, batches[1:])
    seconds = {name: [[] for _ in range(rounds)] for name in configs}
    for round_index in range(rounds):
        for name, (model, batches) in steppers.items():
            for x, y in batches:
                start = time.perf_counter()
                model.train_on_batch(x, y)
                seconds[name][round_index].append(time.perf_counter() - start)
    steps_in_epoch = steps_per_epoch(size, len(train_tracks))
    from mdrbench.train import machine_description

    costs = {name: {"median_step_seconds": statistics.median([v for part in values for v in part]),
                    # one median per round: the rounds pair configurations in time, for the step-cost interval
                    "round_median_seconds": [statistics.median(part) for part in values],
                    "excerpts_per_step": excerpts_per_step(name, size.batch_size),
                    "steps_per_epoch": steps_in_epoch, "rounds": rounds, "steps_per_round": steps,
                    "precision": precision, "machine": machine_description()}
             for name, values in seconds.items()}
    if verbose:
        print("step cost (median s): " + ", ".join(f"{n} {c['median_step_seconds']:.3f}" for n, c in costs.items()),
              flush=True)
    return costs


def benchmark_manifest(size: Size, corpus: Corpus) -> dict:
    """What makes two results comparable (benchmark.json): size, corpus and its fingerprint, front-end, budget,
    result version. Runs, baselines and external models of one folder share it."""
    manifest = {"size": size.name, "corpus": corpus.name, "corpus_fingerprint": corpus.fingerprint(),
                "frontend": size.frontend, "budget": asdict(size), "result_version": RESULT_VERSION}
    return json.loads(json.dumps(manifest))  # as it reads back (tuples become lists)


def config_names(configs: str | list[str] = "all") -> list[str]:
    """The configuration names asked for: "all", a comma-separated string or a list (each checked)."""
    from mdrbench.configs import CONFIGS, get_config

    if configs == "all":
        return list(CONFIGS)
    return [get_config(c).name for c in (configs.split(",") if isinstance(configs, str) else configs)]


def seed_numbers(size: Size, seeds: int | list[int] | None = None) -> list[int]:
    """The seeds asked for: a count (0..n-1), a list, or None for the size's default count."""
    seeds = size.seeds if seeds is None else seeds
    return list(range(seeds)) if isinstance(seeds, int) else list(seeds)


def planned_runs(configs: list[str], seeds: list[int]) -> list[tuple[str, int]]:
    """(configuration to train, seed), seed by seed so that a partial benchmark covers every configuration;
    configurations that are the same function as another are trained once."""
    from mdrbench.configs import trained_as

    return [(name, seed) for seed in seeds
            for name in dict.fromkeys(trained_as(c) for c in configs)]


def parse_shard(text: str) -> tuple[int, int]:
    """"I/N" -> (I, N), 1 <= I <= N: shard I of N (a Slurm array's task id and its count)."""
    parts = str(text).split("/")
    try:
        index, count = (int(part) for part in parts)
    except ValueError:
        index = count = 0
    if len(parts) != 2 or not 1 <= index <= count:
        raise ValueError(f"--shard {text!r} is not I/N with 1 <= I <= N. Fix: e.g. --shard 1/4 ... --shard 4/4 "
                         f"(with Slurm: --shard $((SLURM_ARRAY_TASK_ID + 1))/$SLURM_ARRAY_TASK_COUNT for ids from 0).")
    return index, count


def shard_runs(planned: list[tuple[str, int]], index: int, count: int) -> list[tuple[str, int]]:
    """Shard ``index`` of ``count`` (1-based) of the planned runs: every count-th run from the index-th, so the
    shards are disjoint, together the whole grid, fixed by the grid alone (every shard computes the same list),
    and each holds a mix of configurations and seeds."""
    return planned[index - 1::count]


def prepare_benchmark(size: Size, out_dir: Path, seeds: list[int], corpus: Corpus | None = None, corpus_seed: int = 0,
                      human: pd.DataFrame | None = None, progress: bool = True, verbose: int = 1):
    """Everything before the grid, done once: the corpus and its feature cache (built or validated), the results
    folder's manifest, the evaluation sets, the vocabulary and the baselines. Returns (corpus, features, sets).

    It holds a lock in the results folder (``.prepare.lock``) meanwhile, so the shards of one Slurm array, started
    together, build the corpus and its features once: the first prepares, the others wait and then find it all
    cached and validated."""
    from filelock import FileLock, Timeout

    out_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(out_dir / ".prepare.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if verbose:
            print(f"waiting: another mdrbench is preparing {out_dir} (corpus, features, baselines)", flush=True)
        lock.acquire()
    try:
        return _prepare(size, out_dir, seeds, corpus, corpus_seed, human, progress, verbose)
    finally:
        lock.release()


def _prepare(size: Size, out_dir: Path, seeds: list[int], corpus, corpus_seed, human, progress, verbose):
    from mdrbench.features import FRONTENDS, compute_features

    if corpus is None:
        from mdrbench.synth import ensure_corpus

        corpus = ensure_corpus(size, seed=corpus_seed, progress=progress)
    features = compute_features(corpus, FRONTENDS[size.frontend], progress=progress)
    check_manifest(out_dir, benchmark_manifest(size, corpus))

    sets = make_evaluation_sets(corpus, features, seed=corpus_seed, human=human)
    vocabulary = pd.DataFrame({"tag": corpus.vocabulary.tags, "category": corpus.vocabulary.categories})
    atomic_write_text(out_dir / "vocabulary.csv", vocabulary.to_csv(index=False))
    atomic_write_text(out_dir / "human_triplets.csv", sets.human.to_csv(index=False))
    run_baselines(corpus, features, sets, seeds, out_dir, verbose)
    return corpus, features, sets


def run_benchmark(size: str | Size = "default", configs: str | list[str] = "all", seeds: int | list[int] | None = None,
                  out_dir: str | Path = "results", corpus: Corpus | None = None, corpus_seed: int = 0,
                  progress: bool = True, verbose: int = 1, human: pd.DataFrame | None = None,
                  timing: bool = True, shard: tuple[int, int] | None = None, threads: int | None = None,
                  precision: str = "auto") -> pd.DataFrame:
    """Train and evaluate every (configuration, seed), resuming finished runs; write the report.

    Args:
        size: a size name or Size (corpus, budget, default number of seeds).
        configs: "all" or names (comma-separated string or list).
        seeds: a count (0..n-1) or a list; default ``size.seeds``.
        out_dir: the results folder (see :mod:`mdrbench.results`).
        corpus: a corpus to use instead of the synthetic one of the size.
        human: real Dim-Sim triplets to score instead of simulated raters.
        timing: measure the step cost of every configuration at the end (see :func:`measure_step_costs`).
        shard: (I, N): train only shard I of N of the grid (:func:`shard_runs`), into the same results folder,
            for clusters that schedule job arrays (Slurm). A shard measures no step costs: those come from one
            machine, interleaved, so the call without ``shard`` that follows the array measures them and
            writes the complete report (every run is then kept, none retrained).
        threads: torch's intra-op threads for training and timing (:func:`mdrbench.train.pin_threads`);
            None keeps torch's default. A Ray grid pins the same number in every task, so both compute alike.
        precision: "auto", "fp32" or "bf16" (see :func:`mdrbench.train.resolve_precision`).

    Returns the results table (one row per run and baseline).
    """
    from mdrbench.train import pinned_threads

    with pinned_threads(threads):
        return _run_benchmark(size, configs, seeds, out_dir, corpus, corpus_seed, progress, verbose, human, timing,
                              shard, precision)


def _run_benchmark(size, configs, seeds, out_dir, corpus, corpus_seed, progress, verbose, human, timing, shard,
                   precision) -> pd.DataFrame:
    from mdrbench.report import write_report

    size = get_size(size) if isinstance(size, str) else size
    names, seed_list = config_names(configs), seed_numbers(size, seeds)
    out_dir = Path(out_dir)
    corpus, features, sets = prepare_benchmark(size, out_dir, seed_list, corpus, corpus_seed, human, progress,
                                               verbose)

    planned = planned_runs(names, seed_list)
    if shard is not None:
        index, count = shard
        whole = len(planned)
        planned = shard_runs(planned, index, count)
        timing = False
        if verbose:
            print(f"shard {index}/{count}: {len(planned)} of the grid's {whole} runs; run `mdrbench bench` without "
                  f"--shard once every shard has finished, for the step costs and the whole report", flush=True)
    for position, (name, seed) in enumerate(planned, start=1):
        run_dir = run_folder(out_dir, name, seed)
        if load_result(run_dir) is not None:
            if verbose:
                print(f"[{position}/{len(planned)}] {name} seed {seed}: done earlier, kept")
            continue
        if verbose:
            print(f"[{position}/{len(planned)}] {name} seed {seed}: training", flush=True)
        record = train_and_evaluate(name, seed, corpus, features, sets, size, run_dir, precision=precision,
                                    verbose=0 if verbose < 2 else 2)
        write_report(out_dir)
        if verbose:
            print(f"    {run_summary(record)}", flush=True)

    finish_benchmark(out_dir, list(dict.fromkeys(name for name, _ in planned)), corpus, features, size,
                     timing=timing, verbose=verbose, precision=precision)
    return write_report(out_dir)


def train_and_evaluate(name: str, seed: int, corpus: Corpus, features, sets: EvaluationSets, size: Size,
                       run_dir: Path, precision: str = "auto", verbose: int = 0) -> dict:
    """One run of the grid: train, evaluate, write its folder with result.json last; return its record. The
    serial grid and every Ray task call this, so the two compute the same thing."""
    from mdrbench.train import train

    started = time.perf_counter()
    result = train(name, corpus, features, size=size, seed=seed, out_dir=run_dir, verbose=verbose,
                   precision=precision)
    record = evaluate_trained(result, corpus, features, sets, run_dir)
    record["wall_seconds"] = time.perf_counter() - started
    RunFolder(run_dir).finish(record)
    return record


def run_summary(record: dict) -> str:
    """One line of a finished run: R@1, AUC, spread, epochs and what stopped it, wall seconds."""
    training = record["training"]
    return (f"R@1 {record['recall_at_k']['1']:.3f}  AUC {record['auc']['roc_auc']:.3f}  "
            f"mean cosine {record['embedding_spread']['mean_cosine']:.2f}  "
            f"{training['epochs_run']} epochs (best {training['best_epoch']}, "
            f"stopped by {training['stopped_by']})  {record['wall_seconds']:.0f} s")


def finish_benchmark(out_dir: Path, trained: list[str], corpus: Corpus, features, size: Size, timing: bool = True,
                     verbose: int = 1, precision: str = "auto") -> None:
    """After the grid: the interleaved step timing of every trained configuration, in this process, once. The
    training-time ratio comes from here, on one machine, never from wall times of runs spread over nodes."""
    timing_path = out_dir / "timing.json"
    if timing and not _timing_covers(timing_path, trained):
        atomic_write_json(timing_path, measure_step_costs(trained, corpus, features, size, verbose=verbose,
                                                          precision=precision))


def _timing_covers(path: Path, names: list[str]) -> bool:
    if not path.exists():
        return False
    try:
        return set(names) <= set(json.loads(path.read_text()))
    except json.JSONDecodeError:
        return False

