"""Past one machine: the benchmark grid and large collections as Ray tasks.

Ray (an optional extra: ``pip install -e ".[cluster]"``) runs on one machine, on a cluster started with
``ray start``, and on Slurm through Ray's own recipe (``docs/cluster.md``). mdrbench uses only its core tasks:

- :func:`run_benchmark_ray` (``mdrbench bench --ray [ADDRESS]``): every (configuration, seed) run of the grid is
  one task asking one GPU where the cluster has GPUs, else a fixed number of CPU threads, so tasks never
  oversubscribe a node. The driver builds the corpus, its feature cache, the evaluation sets and the baselines
  once, before the tasks; every task reads them from the shared folder and writes its run folder exactly as the
  serial grid does (:func:`mdrbench.bench.train_and_evaluate`, result.json last). A killed worker or driver
  loses only the runs in flight, and the next call redoes only those. The step timing behind the training-time
  ratio is measured afterwards by the driver, on one machine, interleaved, never from runs on different nodes.
- :func:`embed_corpus_ray` (``mdrbench embed --ray``): shards of a track list, each task loading the model once
  per worker and writing one part; one call merges the parts into the ``.npz`` that ``search`` reads.

On one machine and one precision both equal their serial counterparts, number for number: every task pins
torch's threads (:func:`mdrbench.train.pin_threads`), as the serial path does with the same ``threads``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mdrbench.errors import MdrbenchError

RETRIES = 2  # re-runs of a task whose worker died (not of a task that raised: that is a bug to report)
DEFAULT_THREADS = 4  # CPU threads per task on a CPU cluster (capped by the largest node)
HEARTBEAT_SECONDS = 300  # a progress line at least this often while runs hours long are in flight
EMBED_TRACKS_PER_TASK = 1000  # tracks per embedding task: minutes of work, few enough parts to merge
SHARED_FOLDER_FIX = ("Fix: put the corpus, its feature cache and the results on a filesystem every node mounts at "
                     "the same path (e.g. MDRBENCH_HOME=/shared/mdrbench and --out /shared/results), then rerun.")


class ClusterError(MdrbenchError):
    """A cluster problem with its fix: no Ray, an unreachable address, missing resources, failed tasks."""


def require_ray():
    """The ray module, or a :class:`ClusterError` saying how to install the optional extra."""
    try:
        import ray
    except ImportError:
        raise ClusterError("--ray needs Ray, an optional extra. Fix: pip install -e \".[cluster]\" (or "
                           "pip install \"ray>=2.9\"), then rerun.") from None
    return ray


# ------------------------------------------------------------------------------------------------ connect
def _check_reachable(address: str, timeout: float = 3.0) -> None:
    """Fail fast on an address nothing listens at (ray.init would wait on it for minutes)."""
    host_port = address.removeprefix("ray://")
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"--ray {address!r} is not HOST:PORT. Fix: give the head node's address as `ray start "
                           f"--head` printed it (e.g. --ray 10.0.0.1:6379), `--ray auto` on a node of a running "
                           f"cluster, or --ray alone for a local cluster on this machine.")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as error:
        raise ClusterError(f"no Ray cluster answers at {address} ({error.strerror or error}). Fix: start one with "
                           f"`ray start --head --port={port}` on {host} (or check the address), use `--ray auto` on "
                           f"a node of a running cluster, or give --ray alone for a local cluster.") from None


def connect(address: str | None = None, local_cpus: int | None = None) -> bool:
    """Connect to Ray: ``None`` starts a local cluster of ``local_cpus`` CPUs (default: every core), ``"auto"``
    joins the cluster this node belongs to, ``HOST:PORT`` (or ``ray://HOST:PORT``) a head node. Returns whether
    this call connected (and so should :func:`disconnect`); an already connected process is left as it is."""
    ray = require_ray()
    if ray.is_initialized():
        return False
    options = {"logging_level": logging.WARNING, "log_to_driver": False}
    if address is None:
        ray.init(num_cpus=local_cpus or os.cpu_count(), include_dashboard=False, **options)
        return True
    if address != "auto":
        _check_reachable(address)
    try:
        ray.init(address=address, **options)
    except ConnectionError as error:
        raise ClusterError(f"no running Ray cluster for --ray {address} ({str(error).splitlines()[0]}). Fix: start "
                           f"one with `ray start --head` (then --ray auto on its nodes), or give --ray alone for a "
                           f"local cluster on this machine.") from None
    return True


def disconnect(connected: bool) -> None:
    if connected:
        require_ray().shutdown()


# ---------------------------------------------------------------------------------------------- resources
def alive_nodes() -> list[dict]:
    """The resources ({"CPU": .., "GPU": ..}) of every alive node of the connected cluster."""
    return [node["Resources"] for node in require_ray().nodes() if node.get("Alive")]


def task_resources(threads: int | None = None, nodes: list[dict] | None = None) -> dict:
    """What one task asks: one GPU and ``threads`` CPUs where the cluster has GPUs, else ``threads`` CPUs.
    Default threads: :data:`DEFAULT_THREADS`, capped by the largest node (by its CPUs per GPU with GPUs)."""
    nodes = alive_nodes() if nodes is None else nodes
    gpus = any(node.get("GPU", 0) >= 1 for node in nodes)
    if threads is None:
        per_node = [node.get("CPU", 0) // (node.get("GPU", 1) if gpus else 1) for node in nodes]
        threads = max(1, min(DEFAULT_THREADS, int(max(per_node, default=1))))
    return {"num_cpus": int(threads), "num_gpus": 1 if gpus else 0}


def task_slots(resources: dict, nodes: list[dict] | None = None) -> int:
    """How many such tasks the cluster runs at once; a :class:`ClusterError` when no node can run even one."""
    nodes = alive_nodes() if nodes is None else nodes
    cpus, gpus = resources["num_cpus"], resources["num_gpus"]
    slots = sum(min(int(node.get("CPU", 0) // cpus), int(node.get("GPU", 0) // gpus) if gpus else 1 << 30)
                for node in nodes)
    if slots < 1:
        seen = ", ".join(f"{node.get('CPU', 0):g} CPUs/{node.get('GPU', 0):g} GPUs" for node in nodes) or "none"
        raise ClusterError(f"no node of the Ray cluster can run a task asking {cpus} CPU thread(s)"
                           f"{' and a GPU' if gpus else ''} (nodes: {seen}). Fix: --threads N with N at most the "
                           f"largest node's CPUs, or add a node with the resources.")
    return slots


def describe_cluster(nodes: list[dict]) -> str:
    cpus = sum(node.get("CPU", 0) for node in nodes)
    gpus = sum(node.get("GPU", 0) for node in nodes)
    return f"{len(nodes)} node{'s' if len(nodes) != 1 else ''}, {cpus:g} CPUs, {gpus:g} GPUs"


# ------------------------------------------------------------------------------------------------- tasks
@dataclass
class TaskFailure:
    """A task that did not finish: its description and the cause, one line."""

    label: str
    cause: str


def _attempts_file(attempts_dir: Path, label: str) -> Path:
    return attempts_dir / (label.replace(" ", "-").replace("/", "_") + ".attempts")


def _attempt(function, label: str, attempts_dir: str, job, *shared):
    """Runs on a worker: note the attempt (so the driver can report retries after a worker died), then work."""
    with open(_attempts_file(Path(attempts_dir), label), "a") as file:  # O_APPEND: one line per attempt
        file.write(f"{socket.gethostname()} pid {os.getpid()} {time.time():.0f}\n")
    return function(job, *shared)


def attempts(attempts_dir: Path, label: str) -> int:
    path = _attempts_file(attempts_dir, label)
    return len(path.read_text().splitlines()) if path.exists() else 0


def run_tasks(function, jobs: list, labels: list[str], resources: dict, attempts_dir: Path, shared: tuple = (),
              on_done=None, verbose: int = 1, what: str = "runs") -> list[TaskFailure]:
    """Run ``function(job, *shared)`` for every job as a Ray task with ``resources``; returns the failures.

    A task whose worker died is retried up to :data:`RETRIES` times (and reported); a task that raised is not
    retried (the same inputs raise again) and its error becomes one line. ``on_done(job, value)`` runs on the
    driver as each task finishes; progress prints done / in flight / failed as each task ends, and at least every
    :data:`HEARTBEAT_SECONDS` while none does.
    """
    ray = require_ray()
    attempts_dir.mkdir(parents=True, exist_ok=True)
    for label in labels:
        _attempts_file(attempts_dir, label).unlink(missing_ok=True)
    remote = ray.remote(_attempt).options(**resources, max_retries=RETRIES, retry_exceptions=False)
    shared_refs = tuple(ray.put(value) for value in shared)
    pending = {remote.remote(function, label, str(attempts_dir), job, *shared_refs): (job, label)
               for job, label in zip(jobs, labels, strict=True)}
    done, failures, total, started = 0, [], len(jobs), time.monotonic()
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=HEARTBEAT_SECONDS)
        if not ready:
            if verbose:
                print(f"[{what}: {done} done, {len(pending)} in flight or queued, {len(failures)} failed, of {total}] "
                      f"working, {(time.monotonic() - started) / 60:.0f} min so far", flush=True)
            continue
        ref = ready[0]
        job, label = pending.pop(ref)
        tries = attempts(attempts_dir, label)
        retried = f" (after {tries - 1} retr{'y' if tries == 2 else 'ies'}: its worker died)" if tries > 1 else ""
        try:
            value = ray.get(ref)
        except ray.exceptions.RayTaskError as error:
            cause = error.cause if getattr(error, "cause", None) is not None else error
            failures.append(TaskFailure(label, f"{type(cause).__name__}: {_one_line(cause)}"))
            line = f"{label}: failed, {failures[-1].cause}"
        except ray.exceptions.RayError as error:
            failures.append(TaskFailure(label, f"its worker died {max(tries, 1)} time(s), retries exhausted "
                                               f"({type(error).__name__})"))
            line = f"{label}: failed, {failures[-1].cause}"
        else:
            done += 1
            summary = on_done(job, value) if on_done is not None else None
            line = f"{label}: done{retried}" + (f", {summary}" if summary else "")
        if verbose:
            print(f"[{what}: {done} done, {len(pending)} in flight or queued, {len(failures)} failed, of {total}] "
                  f"{line}", flush=True)
    return failures


def _one_line(error) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 400 else text[:397] + "..."


def failure_error(failures: list[TaskFailure], finished: int, total: int, rerun: str) -> ClusterError:
    shown = "; ".join(f"{failure.label}: {failure.cause}" for failure in failures[:3])
    more = f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
    return ClusterError(f"{len(failures)} of {total} tasks failed on the cluster: {shown}{more}. The {finished} "
                        f"finished ones are kept. Fix the cause, then rerun {rerun}: it redoes only the failed ones.")


# ------------------------------------------------------------------------------------------ the grid
@dataclass(frozen=True)
class RunJob:
    """One (configuration, seed) run, with the paths a worker reads (the shared folder) and its settings."""

    name: str
    seed: int
    size: object  # mdrbench.sizes.Size
    corpus_root: str
    features_dir: str
    out_dir: str
    threads: int
    precision: str


_WORKER_INPUTS: dict = {}  # per worker process: (corpus root, features dir) -> (corpus, features), read once


def _need_folder(path: str, what: str) -> Path:
    if not Path(path).exists():
        raise ClusterError(f"worker {socket.gethostname()} cannot see {what} {path}. {SHARED_FOLDER_FIX}")
    return Path(path)


def _worker_inputs(job: RunJob):
    from mdrbench.corpus import Corpus
    from mdrbench.features import FRONTENDS, compute_features

    key = (job.corpus_root, job.features_dir)
    if key not in _WORKER_INPUTS:
        _need_folder(job.out_dir, "the results folder")
        corpus = Corpus.load(_need_folder(job.corpus_root, "the corpus folder"), check_audio=False)
        _need_folder(job.features_dir, "the corpus's feature cache")
        features = compute_features(corpus, FRONTENDS[job.size.frontend], progress=False)  # validated, mmapped
        _WORKER_INPUTS.clear()  # one corpus per worker at a time
        _WORKER_INPUTS[key] = corpus, features
    return _WORKER_INPUTS[key]


def train_on_worker(job: RunJob, sets) -> dict:
    """A Ray task: one run of the grid, written to its folder exactly as the serial grid writes it."""
    from mdrbench.bench import run_summary, train_and_evaluate
    from mdrbench.results import run_folder
    from mdrbench.train import pin_threads

    pin_threads(job.threads)
    corpus, features = _worker_inputs(job)
    record = train_and_evaluate(job.name, job.seed, corpus, features, sets, job.size,
                                run_folder(Path(job.out_dir), job.name, job.seed), precision=job.precision)
    return {"summary": run_summary(record), "host": socket.gethostname(),
            "precision": record["training"]["precision"]}


def run_benchmark_ray(size="default", configs="all", seeds=None, out_dir="results", corpus=None, corpus_seed: int = 0,
                      address: str | None = None, threads: int | None = None, local_cpus: int | None = None,
                      progress: bool = True, verbose: int = 1, human=None, timing: bool = True,
                      precision: str = "auto"):
    """:func:`mdrbench.bench.run_benchmark` with every run a Ray task (see the module docstring).

    Args:
        address: None starts a local Ray cluster (``local_cpus`` CPUs, default every core); "auto" or
            HOST:PORT joins a running one.
        threads: CPU threads per task, pinned in the task (default: :func:`task_resources`). The driver's
            step timing uses the same count.
        Others as :func:`mdrbench.bench.run_benchmark`.

    Returns the results table. Raises :class:`ClusterError` when tasks failed, after the others finished.
    """
    from mdrbench.bench import (
        config_names,
        finish_benchmark,
        load_result,
        planned_runs,
        prepare_benchmark,
        run_folder,
        seed_numbers,
    )
    from mdrbench.features import FRONTENDS, cache_folder
    from mdrbench.report import write_report
    from mdrbench.sizes import get_size
    from mdrbench.train import pinned_threads

    size = get_size(size) if isinstance(size, str) else size
    names, seed_list = config_names(configs), seed_numbers(size, seeds)
    out_dir = Path(out_dir).resolve()
    if corpus is not None and corpus.root is None:
        raise ClusterError("--ray needs a corpus on disk that every worker reads. Fix: save it first "
                           "(Corpus.save or `mdrbench corpus synth --out DIR`) and pass --corpus DIR.")
    connected = connect(address, local_cpus)
    try:
        nodes = alive_nodes()
        resources = task_resources(threads, nodes)
        slots = task_slots(resources, nodes)
        with pinned_threads(resources["num_cpus"]):  # the driver's step timing runs at the tasks' thread count
            corpus, features, sets = prepare_benchmark(size, out_dir, seed_list, corpus, corpus_seed, human, progress,
                                                       verbose)
            features_dir = cache_folder(corpus, FRONTENDS[size.frontend])
            planned = planned_runs(names, seed_list)
            todo = [(name, seed) for name, seed in planned if load_result(run_folder(out_dir, name, seed)) is None]
            if verbose:
                print(f"Ray ({describe_cluster(nodes)}): {len(todo)} of {len(planned)} runs to train "
                      f"({len(planned) - len(todo)} done earlier, kept), one task each asking "
                      f"{resources['num_cpus']} CPU thread(s){' and a GPU' if resources['num_gpus'] else ''}: "
                      f"{min(slots, max(len(todo), 1))} at once", flush=True)
            jobs = [RunJob(name, seed, size, str(Path(corpus.root).resolve()), str(Path(features_dir).resolve()),
                           str(out_dir), resources["num_cpus"], precision) for name, seed in todo]

            def on_done(job, value):
                write_report(out_dir)
                return f"{value['summary']} on {value['host']}"

            failures = run_tasks(train_on_worker, jobs, [f"{job.name} seed {job.seed}" for job in jobs], resources,
                                 out_dir / ".ray", shared=(sets,), on_done=on_done, verbose=verbose, what="runs")
            if failures:
                write_report(out_dir)
                raise failure_error(failures, len(planned) - len(failures), len(planned), "the same `mdrbench bench`")
            _warn_on_mixed_precision(out_dir, planned)
            finish_benchmark(out_dir, list(dict.fromkeys(name for name, _ in planned)), corpus, features, size,
                             timing=timing, verbose=verbose, precision=precision)
            return write_report(out_dir)
    finally:
        disconnect(connected)


def _warn_on_mixed_precision(out_dir: Path, planned) -> None:
    """Nodes with and without native bf16 pick different precisions on "auto": say so, the runs differ."""
    import warnings

    from mdrbench.bench import load_result, run_folder

    precisions = {(load_result(run_folder(out_dir, name, seed)) or {}).get("training", {}).get("precision")
                  for name, seed in planned}
    precisions.discard(None)
    if len(precisions) > 1:
        warnings.warn(f"the grid's runs trained in different precisions ({sorted(precisions)}): its nodes differ in "
                      f"native bf16. Pass --precision fp32 (or bf16) for one precision everywhere.", stacklevel=2)


# ------------------------------------------------------------------------------------- embedding a collection
@dataclass(frozen=True)
class EmbedJob:
    """Tracks [start, stop) of a corpus folder, embedded with one run's model into one part file."""

    run: str
    model_fingerprint: str
    corpus_root: str
    corpus_fingerprint: str
    start: int
    stop: int
    part: str
    threads: int
    max_seconds: float | None
    skip_errors: bool


_WORKER_MODELS: dict = {}  # per worker process: run folder -> (model, settings, vocabulary), loaded once


def embed_on_worker(job: EmbedJob) -> dict:
    """A Ray task: features and embeddings of one shard of the track list, written to one part (.npz)."""
    from mdrbench.corpus import Corpus
    from mdrbench.features import DEFAULT_MAX_SECONDS, compute_features
    from mdrbench.search import embed_features, load_run_model
    from mdrbench.train import pin_threads

    started = time.perf_counter()
    pin_threads(job.threads)
    run_key = (job.run, job.model_fingerprint)
    if run_key not in _WORKER_MODELS:
        _WORKER_MODELS.clear()
        _WORKER_MODELS[run_key] = load_run_model(_need_folder(job.run, "the run folder"))
    model, settings, _ = _WORKER_MODELS[run_key]
    corpus = Corpus.load(_need_folder(job.corpus_root, "the corpus folder"), check_audio=False)
    shard = corpus.subset(np.arange(job.start, job.stop))
    features = compute_features(shard, settings, cache_dir=False, progress=False, skip_errors=job.skip_errors,
                                max_seconds=DEFAULT_MAX_SECONDS if job.max_seconds is None else job.max_seconds)
    embeddings, logits = embed_features(model, features)
    skipped = np.asarray([job.start + int(s["index"]) for s in features.skipped], dtype=np.int64)
    _save_part(Path(job.part), job, embeddings, logits, skipped)
    return {"tracks": job.stop - job.start, "seconds": time.perf_counter() - started, "host": socket.gethostname()}


def _part_meta(job: EmbedJob) -> dict:
    return {"model_fingerprint": job.model_fingerprint, "corpus_fingerprint": job.corpus_fingerprint,
            "start": job.start, "stop": job.stop, "max_seconds": job.max_seconds, "skip_errors": job.skip_errors}


def _save_part(path: Path, job: EmbedJob, embeddings, logits, skipped) -> None:
    from mdrbench.results import atomic_save_npz

    atomic_save_npz(path, {"embeddings": embeddings, "has_logits": np.array(logits is not None),
                           "logits": np.zeros((len(embeddings), 0), np.float32) if logits is None else logits,
                           "skipped": skipped, "meta": np.array(json.dumps(_part_meta(job)))})


def _read_part(path: Path, job: EmbedJob):
    """(embeddings, logits or None, skipped) of a finished part for exactly this job; None when absent or made
    for another model, corpus or shard (then it is redone, never trusted)."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as part:
            if json.loads(str(part["meta"])) != _part_meta(job):
                return None
            embeddings, logits, skipped = part["embeddings"], part["logits"], part["skipped"]
            has_logits = bool(part["has_logits"])
    except (OSError, ValueError, KeyError, json.JSONDecodeError):
        return None
    if len(embeddings) != job.stop - job.start or not np.isfinite(embeddings).all():
        return None
    return embeddings, (logits if has_logits else None), skipped


def embed_corpus_ray(run_dir, corpus_dir, parts_dir, address: str | None = None, threads: int | None = None,
                     local_cpus: int | None = None, tracks_per_task: int = EMBED_TRACKS_PER_TASK,
                     max_seconds: float | None = None, skip_errors: bool = False, verbose: int = 1):
    """Embed a corpus folder as Ray tasks over shards of its track list, merged in corpus order.

    Each task computes the log-mels of its ``tracks_per_task`` tracks (no feature cache: the work is what is
    spread) and embeds them with the run's model, loaded once per worker; it writes a part into ``parts_dir``.
    Parts already there for the same model, corpus and shard are kept (a killed job resumes). The merge adds the
    tag scores (a triplet model's prototypes need every training track) and drops undecodable tracks, as
    :func:`mdrbench.search.embed_corpus` does, which it equals number for number at the same thread count.

    Returns (:class:`mdrbench.search.Embeddings`, the number of tracks embedded per second of wall time).
    """
    from mdrbench.corpus import Corpus
    from mdrbench.search import finish_embeddings, load_run_model, model_fingerprint
    from mdrbench.train import pinned_threads

    run_dir, corpus_dir, parts_dir = Path(run_dir).resolve(), Path(corpus_dir).resolve(), Path(parts_dir).resolve()
    if tracks_per_task < 1:
        raise ClusterError(f"--tracks-per-task must be at least 1, got {tracks_per_task}.")
    model, _, vocabulary = load_run_model(run_dir)
    corpus = Corpus.load(corpus_dir, check_audio=not skip_errors)
    parts_dir.mkdir(parents=True, exist_ok=True)
    fingerprint, corpus_fingerprint = model_fingerprint(run_dir), corpus.fingerprint()
    n_parts = math.ceil(len(corpus) / tracks_per_task)
    connected = connect(address, local_cpus)
    try:
        nodes = alive_nodes()
        resources = task_resources(threads, nodes)
        slots = task_slots(resources, nodes)
        started = time.perf_counter()  # tracks/s of the work, not of starting a local cluster
        jobs = [EmbedJob(str(run_dir), fingerprint, str(corpus_dir), corpus_fingerprint, start,
                         min(start + tracks_per_task, len(corpus)),
                         str(parts_dir / f"part-{index:05d}-of-{n_parts:05d}.npz"), resources["num_cpus"],
                         max_seconds, skip_errors)
                 for index, start in enumerate(range(0, len(corpus), tracks_per_task))]
        todo = [job for job in jobs if _read_part(Path(job.part), job) is None]
        if verbose:
            print(f"Ray ({describe_cluster(nodes)}): {len(todo)} of {len(jobs)} parts of {tracks_per_task} tracks to "
                  f"embed ({len(jobs) - len(todo)} done earlier, kept), {min(slots, max(len(todo), 1))} at once",
                  flush=True)
        failures = run_tasks(embed_on_worker, todo, [f"tracks {job.start}-{job.stop - 1}" for job in todo],
                             resources, parts_dir / ".ray",
                             on_done=lambda job, value: f"{value['tracks'] / value['seconds']:.1f} tracks/s on "
                                                        f"{value['host']}",
                             verbose=verbose, what="parts")
        if failures:
            raise failure_error(failures, len(jobs) - len(failures), len(jobs), "the same `mdrbench embed --ray`")
    finally:
        disconnect(connected)
    read = [_read_part(Path(job.part), job) for job in jobs]
    if any(part is None for part in read):
        raise ClusterError(f"a part in {parts_dir} is missing or unreadable after its task finished: the workers "
                           f"wrote elsewhere. {SHARED_FOLDER_FIX}")
    embeddings = np.concatenate([part[0] for part in read])
    logits = None if read[0][1] is None else np.concatenate([part[1] for part in read])
    skipped = np.concatenate([part[2] for part in read]).tolist()
    with pinned_threads(resources["num_cpus"]):  # the prototype products at the tasks' count, as serially
        embedded = finish_embeddings(model, corpus, vocabulary, embeddings, logits, skipped)
    work = sum(job.stop - job.start for job in todo)
    return embedded, work / (time.perf_counter() - started) if work else float("nan")
