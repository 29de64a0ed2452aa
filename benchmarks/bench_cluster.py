"""Ray on one machine: the ci grid serially and as Ray tasks, and `embed` tracks/s at 1 and 2 workers.

What it shows on a 2-core machine is the overhead of Ray, not a gain: two tasks of one thread each do the work of
one process of two threads. What it projects for N GPUs is the cost plan's makespan (mdrbench.plan), since the
runs are independent: the grid's wall time on N workers is its longest-first schedule over N.

Usage: python benchmarks/bench_cluster.py [--size ci] [--configs all] [--seeds 2] [--out /tmp/bench_cluster]
           [--embed-size default --tracks-per-task 400] [--no-grid --run RUN_DIR]
Each variant trains into its own fresh results folder (the corpus and its log-mels are cached once first).
Prints one table of wall seconds; every grid's numbers are checked equal to the serial grid at the same threads.
The embedding is measured on the --embed-size corpus (default: --size) with a run of the grid (or --run): on a
corpus of a few hundred tracks the workers' start (importing torch and Keras, loading the model) dominates.
"""

import mdrbench  # noqa: F401, I001  (first: sets KERAS_BACKEND=torch before keras is imported)
import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np


def grid(kind: str, threads: int, out: Path, args) -> float:
    from mdrbench.bench import run_benchmark
    from mdrbench.cluster import run_benchmark_ray

    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    if kind == "serial":
        run_benchmark(size=args.size, configs=args.configs, seeds=args.seeds, out_dir=out, progress=False, verbose=0,
                      threads=threads)
    else:
        run_benchmark_ray(size=args.size, configs=args.configs, seeds=args.seeds, out_dir=out, threads=threads,
                          progress=False, verbose=0)
    return time.perf_counter() - start


def same_numbers(first: Path, second: Path) -> bool:
    from mdrbench.results import scan_results, without_timing

    records = [{(r["config"], r["seed"]): without_timing(r) for r in scan_results(folder)[0]}
               for folder in (first, second)]
    return records[0] == records[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="ci")
    parser.add_argument("--configs", default="all")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--tracks-per-task", type=int, default=40)
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_cluster"))
    parser.add_argument("--embed-size", default=None, help="the corpus to embed (default: --size)")
    parser.add_argument("--no-grid", action="store_true", help="only the embedding (then give --run)")
    parser.add_argument("--run", type=Path, default=None, help="the run folder to embed with")
    args = parser.parse_args()

    from mdrbench import cluster
    from mdrbench.features import FRONTENDS, compute_features
    from mdrbench.search import embed_corpus
    from mdrbench.sizes import get_size
    from mdrbench.synth import ensure_corpus
    from mdrbench.train import pinned_threads

    corpus = ensure_corpus(get_size(args.size), progress=False)
    compute_features(corpus, FRONTENDS[get_size(args.size).frontend], progress=False)
    rows, equal = {}, {}
    assert cluster.connect(None, local_cpus=2)  # one local cluster for every Ray variant: its start is not work
    try:
        if not args.no_grid:
            for kind, threads in (("serial", 2), ("serial", 1), ("ray", 1), ("ray", 2)):
                folder = args.out / f"{kind}-{threads}"
                rows[f"grid {kind}, {threads} thread(s) per run"] = {
                    "wall_s": round(grid(kind, threads, folder, args), 1)}
            equal = {f"ray-{t} = serial-{t}": same_numbers(args.out / f"serial-{t}", args.out / f"ray-{t}")
                     for t in (1, 2)}
    finally:
        cluster.disconnect(True)
    run = args.run or args.out / "ray-1" / "runs" / "proxy-norm-dis" / "seed0"
    corpus = ensure_corpus(get_size(args.embed_size or args.size), progress=False)
    for threads in (1, 2):
        with pinned_threads(threads):
            start = time.perf_counter()
            serial = embed_corpus(run, corpus, cache_dir=False)
            rows[f"embed serial, {threads} thread(s)"] = {
                "tracks_per_s": round(len(corpus) / (time.perf_counter() - start), 1)}
    for workers in (1, 2):  # a local cluster of `workers` CPUs, one thread per task
        parts = args.out / f"parts-{workers}"
        shutil.rmtree(parts, ignore_errors=True)
        embedded, rate = cluster.embed_corpus_ray(run, corpus.root, parts, threads=1, local_cpus=workers,
                                                  tracks_per_task=args.tracks_per_task, verbose=0)
        equal[f"embed ray {workers} = serial"] = bool(np.array_equal(embedded.embeddings, serial.embeddings))
        rows[f"embed ray, {workers} worker(s) of 1 thread"] = {"tracks_per_s": round(rate, 1)}
    print(json.dumps({"size": args.size, "configs": args.configs, "seeds": args.seeds,
                      "embedded": f"{len(corpus)} tracks of {corpus.name}, {args.tracks_per_task} per task",
                      "rows": rows, "equal": equal}, indent=1))


if __name__ == "__main__":
    main()
