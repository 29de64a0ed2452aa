"""The reference results that ship with mdrbench: one benchmark's runs, compact, read-only, with provenance.

A student on Colab or a laptop should see the ``default`` benchmark's evidence without spending the hour it
took to compute. :func:`build_reference` copies a finished results folder (``mdrbench bench --size default``)
into the package, compactly, and :func:`open_reference` reads it back, checked::

    mdrbench bench --size default                        # about an hour on 2 CPU cores
    mdrbench reference --from ~/.cache/mdrbench/results/default --wall-seconds 3569

The bundle is a results folder like any other (:mod:`mdrbench.results`), so the report, the findings and the
notebooks read it unchanged; what it keeps, and at which precision:

==========================  ==========================================================  ==================
part                        runs                                                        precision
==========================  ==========================================================  ==================
result, history, config     every run and baseline                                      as written (JSON)
evidence.npz                every run and baseline (per-query R@K, tag scores, triplets)  float32, as written
test tag scores             read from the evidence (the same array)                     float32
model.keras                 seed 0 of every trained configuration, without Adam's state  float32 weights
test embeddings, track ids  seed 0 of every trained configuration                       float16, UTF-8
manifest, timing, report    once                                                        as written
==========================  ==========================================================  ==================

Excerpt embeddings are left out (notebook 08 recomputes them from the model). Every file's size and SHA-256
are in ``provenance.json``, beside the commit, date, machine, precision, wall time and command that made the
runs; :func:`open_reference` checks them all, and the result version and the corpus fingerprint, and says in
one line what is wrong and what to do rather than showing numbers the current code would not produce.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil
import subprocess
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from mdrbench.results import (
    RESULT_VERSION,
    RunFolder,
    UnreadableResult,
    atomic_save_npy,
    atomic_write_json,
    atomic_write_text,
    read_manifest,
    scan_results,
)

REFERENCE_ROOT = Path(__file__).parent / "data" / "reference"
PROVENANCE = "provenance.json"
MODEL_SEEDS = (0,)  # the seeds whose models and test embeddings ship (the notebooks' models and search)
TOP_FILES = ("benchmark.json", "timing.json", "vocabulary.csv", "human_triplets.csv")
RUN_FILES = (RunFolder.RESULT, RunFolder.HISTORY, RunFolder.CONFIG, RunFolder.EVIDENCE)
REFRESH = ("refresh it (`mdrbench bench --size {size}`, then `mdrbench reference --from "
           "~/.cache/mdrbench/results/{size}`; docs/reference.md) or train your own runs with "
           "`mdrbench bench --size {size}`")


def reference_folder(size_name: str) -> Path:
    """Where the reference results of one size live inside the package (they may not exist)."""
    return REFERENCE_ROOT / size_name


@dataclass
class Reference:
    """The reference results of one size, as checked by :func:`open_reference`.

    Attributes:
        size: the size name.
        folder: the bundle's folder (a results folder: read it, never write to it).
        provenance: what made it (commit, date, machine, precision, wall time, command, sizes of its parts).
        problem: None when usable, else one line: what is wrong and what to do.
    """

    size: str
    folder: Path
    provenance: dict = field(default_factory=dict)
    problem: str | None = None

    @property
    def usable(self) -> bool:
        return self.problem is None

    def describe(self) -> str:
        """One line: where the numbers come from."""
        p = self.provenance
        return (f"the reference results that ship with mdrbench ({self.folder}, read-only): `{p.get('command')}` "
                f"run {p.get('results_made', '?')} on {p.get('machine', '?')} in {p.get('precision', '?')}, "
                f"wall time {p.get('wall_seconds', 0) / 60:.0f} min; models and test embeddings kept for seed(s) "
                f"{p.get('model_seeds')}")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _problem(size: str, folder: Path, why: str) -> str:
    return (f"the reference results for size {size} ({folder}) are not used: {why}. Fix: "
            + REFRESH.format(size=size) + ".")


@lru_cache(maxsize=8)
def _checked(folder: str, stamp: tuple) -> tuple[dict, str | None]:
    """(provenance, problem) of a bundle; cached per folder and file times (a refresh invalidates it)."""
    folder = Path(folder)
    path = folder / PROVENANCE
    if not path.exists():
        return {}, "it has no provenance.json (damaged or half copied)"
    try:
        provenance = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        return {}, f"its provenance.json is unreadable ({error})"
    if provenance.get("result_version") != RESULT_VERSION:
        return provenance, (f"it was made by result version {provenance.get('result_version')} and this mdrbench "
                            f"writes version {RESULT_VERSION}, so its numbers are not what the current code gives")
    for name, expected in provenance.get("files", {}).items():
        file = folder / name
        if not file.is_file():
            return provenance, f"{name} is missing"
        if file.stat().st_size != expected["bytes"] or _sha256(file) != expected["sha256"]:
            return provenance, f"{name} is damaged (its size or SHA-256 differs from provenance.json)"
    _, problems = scan_results(folder, "runs")
    if problems:
        return provenance, problems[0]
    return provenance, None


def open_reference(size_name: str, corpus=None, folder: str | Path | None = None) -> Reference:
    """The reference results of a size, checked: version, every file's checksum and, given the corpus, that
    they were made on it (its fingerprint). Never raises for a bad bundle: ``problem`` says what is wrong."""
    folder = Path(folder) if folder is not None else reference_folder(size_name)
    if not (folder / PROVENANCE).exists() and not folder.exists():
        return Reference(size_name, folder, {}, _problem(size_name, folder, "none ship for this size"))
    stamp = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folder.iterdir())) if folder.exists() else ()
    provenance, why = _checked(str(folder), stamp)
    if why is None and corpus is not None:
        stored = read_manifest(folder).get("corpus_fingerprint")
        if stored != corpus.fingerprint():
            why = (f"they were made on another corpus (fingerprint {stored}) than {corpus.name} "
                   f"({corpus.fingerprint()})")
    return Reference(size_name, folder, provenance, None if why is None else _problem(size_name, folder, why))


# --- making a bundle -------------------------------------------------------------------------------------------
def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def _save_model_without_optimizer(source: Path, target: Path) -> None:
    """model.keras without Adam's moments (two thirds of the file): the float32 weights, loadable as is."""
    import mdrbench

    model = mdrbench.load_model(source)
    model.optimizer = None
    target.parent.mkdir(parents=True, exist_ok=True)
    model.save(target)


def _one(values: set, what: str) -> str:
    if len(values) != 1:
        raise ValueError(f"the runs disagree on their {what} ({sorted(values)}): a reference bundle must compare "
                         f"like with like. Fix: rerun the benchmark on one machine at one precision.")
    return values.pop()


def build_reference(source: str | Path, out: str | Path | None = None, wall_seconds: float | None = None,
                    command: str | None = None, note: str = "", model_seeds: tuple[int, ...] = MODEL_SEEDS,
                    corpus=None) -> dict:
    """Copy a finished results folder into a compact, checked reference bundle; return its provenance.

    Args:
        source: a results folder written by ``mdrbench bench`` (every run finished, current result version).
        out: the bundle folder; default the package's ``data/reference/SIZE``. Replaced whole, atomically.
        wall_seconds: the measured wall time of the ``mdrbench bench`` that made ``source``.
        command: the command that made it; default ``mdrbench bench --size SIZE``.
        note: free text kept in the provenance (e.g. which commit's code trained the runs).
        model_seeds: the seeds whose models and test embeddings are kept.
        corpus: the corpus the runs were made on; default the synthetic corpus of the size. Its fingerprint
            (under the current rule) goes into the bundle's manifest.
    """
    from mdrbench.report import collect_results, markdown_report, report_sections

    source = Path(source)
    manifest = read_manifest(source)
    if not manifest:
        raise ValueError(f"{source} has no benchmark.json: it is not a results folder. Fix: pass the folder "
                         f"`mdrbench bench` wrote (e.g. ~/.cache/mdrbench/results/default).")
    if manifest.get("result_version") != RESULT_VERSION:
        raise ValueError(f"{source} holds result version {manifest.get('result_version')}, this mdrbench writes "
                         f"{RESULT_VERSION}. Fix: rerun `mdrbench bench` with this code first.")
    size = manifest["size"]
    runs, problems = scan_results(source, "runs")
    baselines, baseline_problems = scan_results(source, "baselines")
    if problems or baseline_problems or not runs:
        raise ValueError(f"{source} is not a finished benchmark ({(problems + baseline_problems)[:1] or 'no runs'}). "
                         f"Fix: run `mdrbench bench --out {source}` until every run is done.")
    if corpus is None:
        from mdrbench.synth import ensure_corpus

        corpus = ensure_corpus(size, progress=False)
    training = [result["training"] for result in runs]
    machine = _one({t["machine"] for t in training}, "machine")
    precision = _one({t["precision"] for t in training}, "precision")

    out = Path(out) if out is not None else reference_folder(size)
    staging = out.parent / f".{out.name}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    migrated = manifest["corpus_fingerprint"] != corpus.fingerprint()
    atomic_write_json(staging / "benchmark.json", {**manifest, "corpus_fingerprint": corpus.fingerprint()})
    for name in TOP_FILES[1:]:
        if (source / name).exists():
            shutil.copy2(source / name, staging / name)
    parts: dict[str, int] = {}

    def add(part: str, path: Path) -> None:
        parts[part] = parts.get(part, 0) + path.stat().st_size

    run_dirs = sorted([*source.glob("runs/*/seed*"), *source.glob("baselines/*/seed*")])
    for run_dir in run_dirs:
        if not (run_dir / RunFolder.RESULT).exists():
            continue
        relative = run_dir.relative_to(source)
        target = staging / relative
        target.mkdir(parents=True)
        for name in RUN_FILES:
            if (run_dir / name).exists():
                shutil.copy2(run_dir / name, target / name)
                add("evidence (float32)" if name == RunFolder.EVIDENCE else "results, histories, configs (JSON)",
                    target / name)
        stored = RunFolder(run_dir)
        scores = stored.array("test_tag_scores")
        if not np.array_equal(scores, stored.evidence().tag_scores, equal_nan=True):
            raise ValueError(f"{run_dir}: test_tag_scores.npy differs from the evidence's tag scores; the bundle "
                             f"keeps only the evidence's copy. Fix: rerun this run with the current code.")
        seed = int(run_dir.name.removeprefix("seed"))
        if relative.parts[0] == "runs" and seed in model_seeds:
            atomic_save_npy(target / "test_embeddings.npy", stored.array("test_embeddings").astype(np.float16))
            atomic_save_npy(target / "test_track_ids.npy", np.char.encode(stored.array("test_track_ids"), "utf-8"))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _save_model_without_optimizer(run_dir / RunFolder.MODEL, target / RunFolder.MODEL)
            add("test embeddings (float16)", target / "test_embeddings.npy")
            add("test track ids", target / "test_track_ids.npy")
            add("models (float32 weights, no optimizer)", target / RunFolder.MODEL)

    results = collect_results(staging)  # the report as the current code writes it from the bundle itself
    atomic_write_text(staging / "report.md", markdown_report(report_sections(staging, results)))
    for name in (*TOP_FILES, "report.md"):
        if (staging / name).exists():
            add("manifest, timing, vocabulary, human triplets, report", staging / name)

    made = sorted(datetime.datetime.fromtimestamp((d / RunFolder.RESULT).stat().st_mtime, datetime.UTC)
                  for d in run_dirs if (d / RunFolder.RESULT).exists())
    files = {str(p.relative_to(staging)): {"bytes": p.stat().st_size, "sha256": _sha256(p)}
             for p in sorted(staging.rglob("*")) if p.is_file()}
    provenance = {
        "size": size, "command": command or f"mdrbench bench --size {size}", "wall_seconds": wall_seconds,
        "results_made": f"{made[0]:%Y-%m-%d %H:%M} to {made[-1]:%Y-%m-%d %H:%M} UTC",
        "machine": machine, "precision": precision, "result_version": RESULT_VERSION,
        "bundled_by_commit": _git_commit(), "bundled_at": f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        "corpus": corpus.name, "corpus_fingerprint": corpus.fingerprint(),
        "fingerprint_note": ("the manifest's fingerprint was recomputed under the current rule (the corpus is the "
                             "same files)") if migrated else "",
        "runs": len(runs), "baselines": len(baselines), "model_seeds": list(model_seeds),
        "bytes_per_part": parts, "bytes_total": sum(f["bytes"] for f in files.values()),
        "note": note, "files": files,
    }
    atomic_write_json(staging / PROVENANCE, provenance)
    if out.exists():
        shutil.rmtree(out)
    staging.rename(out)
    _checked.cache_clear()
    reference = open_reference(size, corpus, folder=out)
    if not reference.usable:
        raise UnreadableResult(f"the bundle just written does not check out: {reference.problem}")
    return provenance
