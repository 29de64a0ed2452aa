"""Result files of a benchmark: one object per run folder, atomic writes, the manifest of what was run.

Both the grid runner (:mod:`mdrbench.bench`) and the report (:mod:`mdrbench.report`) import this module, and
neither imports the other's internals for files. Layout of a results folder::

    OUT/benchmark.json                 the manifest: size, corpus fingerprint, front-end, budget
    OUT/runs/CONFIG/seedN/             one run (a RunFolder): result.json (written last), model.keras,
                                       history.json, config.json, test_embeddings.npy, test_excerpt_embeddings.npy,
                                       test_tag_scores.npy, test_track_ids.npy, vocabulary.csv, evidence.npz
    OUT/baselines/NAME/seedN/          the random and mel-statistics baselines, same files but the model's
    OUT/timing.json                    the cost of one training step per configuration (interleaved)

:class:`RunFolder` owns those names: every writer and reader of a run goes through it, and every write is
atomic (a temporary file renamed into place). A run counts as done only when its ``result.json`` exists,
parses, has this version and its ``evidence.npz`` (the per-query scores every interval is drawn from) reads
back, so killing the benchmark at any point and starting it again redoes at most the run that was in flight.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mdrbench.errors import MdrbenchError

RESULT_VERSION = 3  # 3: per-query evidence (evidence.npz) and excerpt embeddings; 2: training block, baselines


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def atomic_write_json(path: str | Path, value) -> None:
    atomic_write_text(path, json.dumps(value, indent=1))


def atomic_save_npy(path: str | Path, array: np.ndarray) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npy")
    os.close(descriptor)
    np.save(temporary, array, allow_pickle=False)
    os.replace(temporary, path)


def atomic_save_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """Write a compressed .npz atomically (no object arrays: it reads back with ``allow_pickle=False``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
    os.close(descriptor)
    np.savez_compressed(temporary, **arrays)
    os.replace(temporary, path)


class UnreadableResult(MdrbenchError, ValueError):
    """A result.json that exists but cannot be used (corrupt, or written by another version)."""


# What a result records of time and hardware, not of the model: two grids that computed the same runs (serial,
# sharded or on Ray) agree on everything else, to the last digit, on one machine at one precision.
TIMING_FIELDS = ("wall_seconds", "median_step_seconds", "seconds_per_epoch", "total_seconds", "cpu_seconds",
                 "epoch_seconds")


def without_timing(record):
    """A result (or history) with its :data:`TIMING_FIELDS` removed at every depth, for comparing two grids."""
    if isinstance(record, dict):
        return {key: without_timing(value) for key, value in record.items() if key not in TIMING_FIELDS}
    if isinstance(record, list):
        return [without_timing(value) for value in record]
    return record


def read_result(run_dir: str | Path) -> dict | None:
    """A finished run's result; None when the run has not finished (no result.json).

    Raises:
        UnreadableResult: the file exists but does not parse, has another version, or its evidence.npz is
            missing or damaged; the message names the file and says that ``mdrbench bench`` will redo the run.
    """
    return RunFolder(run_dir).result()


def load_result(run_dir: str | Path) -> dict | None:
    """A finished run's result, or None when it is missing, unfinished or unreadable (the runner's view:
    anything but a good result.json means "run it")."""
    try:
        return read_result(run_dir)
    except UnreadableResult:
        return None


def scan_results(folder: str | Path, kind: str = "runs") -> tuple[list[dict], list[str]]:
    """Every finished result under ``folder/kind/*/seed*`` and one line per unreadable result.json.

    Returns (results, problems); ``kind`` is "runs" (trained models), "baselines" or "external" (models
    scored by ``mdrbench score``).
    """
    results, problems = [], []
    for run_dir in sorted(Path(folder).glob(f"{kind}/*/seed*")):
        try:
            result = read_result(run_dir)
        except UnreadableResult as error:
            problems.append(str(error))
            continue
        if result is not None:
            results.append(result)
    return results, problems


def run_folder(out_dir: str | Path, config: str, seed: int) -> Path:
    return Path(out_dir) / "runs" / config / f"seed{seed}"


def baseline_folder(out_dir: str | Path, name: str, seed: int) -> Path:
    return Path(out_dir) / "baselines" / name / f"seed{seed}"


def external_folder(out_dir: str | Path, name: str, seed: int) -> Path:
    """The folder of an external model's scores (``mdrbench score``), a name made safe for a path."""
    import re

    return Path(out_dir) / "external" / re.sub(r"[^A-Za-z0-9_.-]", "_", name) / f"seed{seed}"


class RunFolder:
    """One run's (or baseline's) folder: the one place that knows its file names, writes them atomically and
    reads them back with validation.

    ``result.json`` is written last (:meth:`finish`): the arrays and the evidence before it, so a folder with a
    readable result always has everything a comparison needs.
    """

    RESULT, HISTORY, CONFIG, MODEL = "result.json", "history.json", "config.json", "model.keras"
    EVIDENCE, VOCABULARY = "evidence.npz", "vocabulary.csv"
    ARRAYS = ("test_embeddings", "test_excerpt_embeddings", "test_tag_scores", "test_track_ids")

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def file(self, name: str) -> Path:
        return self.path / name

    # --- writing ---------------------------------------------------------------------------------------------
    def write_json(self, name: str, value) -> None:
        atomic_write_json(self.path / name, value)

    def write_test_arrays(self, test_embeddings, test_tag_scores, test_track_ids, test_excerpt_embeddings=None,
                          vocabulary=None) -> None:
        """test_embeddings (n, D) float32, test_tag_scores (n, T), test_track_ids (n,), optionally the excerpt
        embeddings (n, excerpts, D), stored as float16 (they only feed excerpt-level comparisons), and the
        vocabulary (a :class:`mdrbench.corpus.TagVocabulary`)."""
        atomic_save_npy(self.path / "test_embeddings.npy", np.asarray(test_embeddings, dtype=np.float32))
        atomic_save_npy(self.path / "test_tag_scores.npy", np.asarray(test_tag_scores, dtype=np.float32))
        atomic_save_npy(self.path / "test_track_ids.npy", np.asarray(test_track_ids).astype(str))
        if test_excerpt_embeddings is not None:
            atomic_save_npy(self.path / "test_excerpt_embeddings.npy",
                            np.asarray(test_excerpt_embeddings, dtype=np.float16))
        if vocabulary is not None:
            atomic_write_text(self.path / self.VOCABULARY, vocabulary.to_frame().to_csv(index=False))

    def write_evidence(self, evidence) -> None:
        """The per-query evidence (:class:`mdrbench.evidence.Evidence`)."""
        atomic_save_npz(self.path / self.EVIDENCE, evidence.to_arrays())

    def finish(self, record: dict) -> None:
        """Write result.json: the run counts as done from here on."""
        atomic_write_json(self.path / self.RESULT, record)

    # --- reading ---------------------------------------------------------------------------------------------
    def result(self) -> dict | None:
        """The finished run's result; None when it has not finished. Raises :class:`UnreadableResult`."""
        path = self.path / self.RESULT
        if not path.exists():
            return None
        try:
            result = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError, OSError) as error:
            raise UnreadableResult(f"{path} is unreadable ({error}); `mdrbench bench` will redo this run.") from None
        if not isinstance(result, dict) or result.get("version") != RESULT_VERSION:
            version = result.get("version") if isinstance(result, dict) else None
            raise UnreadableResult(f"{path} has result version {version}, this mdrbench writes {RESULT_VERSION}; "
                                   f"`mdrbench bench` will redo this run.")
        if not (self.path / self.EVIDENCE).exists():
            raise UnreadableResult(f"{self.path / self.EVIDENCE} is missing (a run needs its per-query evidence); "
                                   f"`mdrbench bench` will redo this run.")
        return result

    def evidence(self):
        """The per-query evidence, validated. Raises :class:`UnreadableResult` when missing or damaged."""
        from mdrbench.evidence import Evidence

        path = self.path / self.EVIDENCE
        try:
            with np.load(path, allow_pickle=False) as arrays:
                return Evidence.from_arrays(arrays)
        except (OSError, ValueError, KeyError) as error:
            raise UnreadableResult(f"{path} is unreadable ({error}); delete {self.path} and run `mdrbench bench` "
                                   f"to redo this run.") from None

    def history(self) -> dict:
        path = self.path / self.HISTORY
        return json.loads(path.read_text()) if path.exists() else {}

    def has_embeddings(self) -> bool:
        """Whether the run's test embeddings are stored (the reference bundle keeps them for some seeds only)."""
        return (self.path / "test_embeddings.npy").exists()

    def array(self, name: str) -> np.ndarray:
        """One stored test array, float arrays as float32 (the reference bundle keeps embeddings in float16).

        Track ids stored as bytes come back as str. ``test_tag_scores`` falls back on the evidence's copy (the
        same float32 scores every AUC was computed from), which is how the reference bundle stores them once.
        """
        path = self.path / f"{name}.npy"
        if name == "test_tag_scores" and not path.exists():
            return self.evidence().tag_scores.astype(np.float32)
        array = np.load(path, allow_pickle=False)
        if array.dtype.kind == "S":  # track ids kept as UTF-8 bytes (a quarter of numpy's 4-byte characters)
            return np.char.decode(array, "utf-8")
        return array.astype(np.float32) if array.dtype == np.float16 else array


@dataclass
class Run:
    """One finished benchmark run, loaded back: its metrics, training history and test-set arrays."""

    folder: Path
    result: dict
    history: dict
    test_embeddings: np.ndarray
    test_tag_scores: np.ndarray
    test_track_ids: np.ndarray
    _model: object = None

    @property
    def model(self):
        """The trained model (loaded from model.keras on first use)."""
        if self._model is None:
            from mdrbench.train import load_trained

            self._model, _ = load_trained(self.folder)
        return self._model

    @property
    def evidence(self):
        """The run's per-query evidence (:class:`mdrbench.evidence.Evidence`)."""
        return RunFolder(self.folder).evidence()


def load_run(out_dir: str | Path, config: str, seed: int = 0) -> Run:
    """A finished run of ``mdrbench bench`` read back from ``out_dir`` (the arrays search and notebooks use).

    ``classification-norm-full`` is trained once as ``proxy-norm-full`` (the same function), so asking for it
    returns that run.
    """
    from mdrbench.configs import trained_as

    folder = RunFolder(run_folder(out_dir, trained_as(config), seed))
    result = folder.result()
    if result is None:
        raise FileNotFoundError(f"{folder.path} holds no finished run; run `mdrbench bench --out {out_dir}` "
                                f"(or mdrbench.bench.run_benchmark) first.")
    if not folder.has_embeddings():
        raise FileNotFoundError(f"{folder.path} keeps this run's results and evidence but not its embeddings or "
                                f"model (the reference bundle stores those for seed 0 only). Fix: read seed 0, or "
                                f"train your own runs with `mdrbench bench`.")
    return Run(folder.path, result, folder.history(), folder.array("test_embeddings"),
               folder.array("test_tag_scores"), folder.array("test_track_ids"))


def read_manifest(out_dir: str | Path) -> dict:
    path = Path(out_dir) / "benchmark.json"
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return {}


def check_manifest(out_dir: str | Path, manifest: dict) -> None:
    """Refuse to mix results of two different benchmarks in one folder; write the manifest."""
    out_dir = Path(out_dir)
    earlier = read_manifest(out_dir)
    if earlier and earlier != manifest:
        differences = {k: (earlier.get(k), v) for k, v in manifest.items() if earlier.get(k) != v}
        raise ValueError(f"{out_dir} holds results of another benchmark ({differences}: was, now). "
                         f"Fix: choose another --out folder, or delete {out_dir} to start over.")
    atomic_write_json(out_dir / "benchmark.json", manifest)
